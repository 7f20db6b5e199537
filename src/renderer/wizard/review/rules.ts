import { currentRunDir } from '../../store/review';
import type { All } from '../../store/types';

export function canAdvance(s: All): true | string {
  return currentRunDir(s) ? true : 'Train a model first.';
}
