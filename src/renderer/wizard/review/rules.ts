import { currentRunDir } from '../../store/review';
import type { All } from '../../store/types';

export function canAdvance(s: All): true | string {
  return currentRunDir(s) ? true : 'Train a model first.';
}

/**
 * Review's work is looking at the results, so it is done only once the user opened it and the
 * current model was reviewed there (entering the step is what starts the review).
 */
export function isDone(s: All): boolean {
  const runDir = currentRunDir(s);
  return runDir !== null && s.review.forRun === runDir && s.review.status === 'done';
}
