import type { All } from '../../store/types';

export function canAdvance(_s: All): true | string {
  return 'This is the last step.';
}

/** Done once the model was saved somewhere. */
export function isDone(s: All): boolean {
  return s.exporting.result != null;
}
