import type { All } from '../../store/types';

export function canAdvance(_s: All): true | string {
  return 'This is the last step.';
}
