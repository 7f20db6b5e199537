// `review/evaluate`: the review of a finished run, computed from its saved predictions.
import path from 'node:path';
import { EngineError } from '../../shared/rpc';
import type { Interpretation } from '../../shared/types';
import { reviewPredictions, type ReviewOptions } from './review';
import { readRun, RUN_FILES } from '../run';

/** Confusion matrix, per-class scores and the image lists worth a look, for the run in `runDir`. */
export async function evaluateRun(runDir: string, options: ReviewOptions = {}): Promise<Interpretation> {
  const run = await readRun(runDir);
  const file = path.join(run.dir, RUN_FILES.predictions);
  if (!run.predictions.some((p) => p.split === 'valid')) {
    throw new EngineError('run/no-validation', `${file} has no validation images, so there is nothing to review. Train again with more photos per class so some can be held out.`, { file });
  }
  return reviewPredictions(run.dir, run.classes, run.predictions, options);
}
