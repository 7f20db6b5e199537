// Step 4: every photo's probabilities as the app will compute them, scored, and the run folder
// written through the run writer (docs/ENGINE.md "run dir").
import type * as tf from '@tensorflow/tfjs';
import type { TrainResult } from '../../../shared/types';
import type { BackboneSpec } from '../../backbones/catalog';
import type { FeatureMatrix } from '../../features';
import type { RunConfig, RunWriter } from '../../run';
import { predictProbabilities, score } from '../evaluate';
import { buildHeadModel, type Head } from '../head';
import type { PredictionFeatures } from './fine-tune';

export interface FinishedTraining {
  config: RunConfig;
  spec: BackboneSpec;
  head: Head;
  /** The tuned feature model when fine-tuning was kept; null for the stock backbone. */
  tuned: tf.LayersModel | null;
  /** Which layers the kept fine-tuning trained; null when the backbone is the stock one. */
  fineTune: { layers: 'top' | 'whole'; cut: string | null } | null;
  features: PredictionFeatures;
  bestEpoch: number;
}

/** Per-image probabilities with the same features and TTA the app uses. */
async function predictionItems(head: Head, classes: string[], rows: FeatureMatrix, flip: FeatureMatrix | null) {
  const probabilities = await predictProbabilities(head, rows, flip);
  const k = classes.length;
  return {
    score: rows.labels.length > 0 ? score(probabilities, rows.labels, k) : null,
    items: rows.images.map((image, i) => ({
      file: image.file,
      path: image.path,
      id: image.id,
      split: image.split,
      label: classes[rows.labels[i]!]!,
      probabilities: Array.from(probabilities.subarray(i * k, (i + 1) * k)),
    })),
  };
}

/**
 * Writes everything but the result (which needs the job's total time); returns the result's scores.
 * `onStep(done, total)` follows its parts: on a folder of thousands of photos they take seconds.
 */
export async function writeRun(run: RunWriter, done: FinishedTraining, onStep: (done: number, total: number) => void = () => undefined): Promise<Pick<TrainResult, 'valid' | 'test' | 'images'>> {
  const { config, spec, head, features } = done;
  const { classes, tta } = config;
  const steps = done.tuned ? 7 : 6;
  let step = 0;
  const next = () => onStep(++step, steps);
  onStep(0, steps);
  // Valid and test with TTA (as the app predicts), train on the centre crop.
  const valid = await predictionItems(head, classes, features.valid, tta ? features.validFlip : null);
  next();
  const test = await predictionItems(head, classes, features.test, tta ? features.testFlip : null);
  next();
  const train = await predictionItems(head, classes, features.train, null);
  next();
  // The test split is scored once, here, with the chosen model; nothing before looked at it.
  const scores = { valid: valid.score!, test: test.score };
  await run.writeConfig(config);
  await run.writePredictions({ classes, items: [...valid.items, ...test.items, ...train.items] });
  next();
  const model = buildHeadModel(head);
  try {
    await run.writeHead(model);
  } finally {
    model.dispose();
  }
  next();
  if (done.tuned) {
    await run.writeBackbone(done.tuned);
    next();
  }
  await run.writeMetadata({ spec, labels: classes, head: { ...head.spec }, fineTuned: done.tuned !== null, fineTune: done.tuned ? done.fineTune : null, tta, metrics: { ...scores, bestEpoch: done.bestEpoch } });
  next();
  return { ...scores, images: { train: features.train.labels.length, valid: features.valid.labels.length, test: features.test.labels.length } };
}
