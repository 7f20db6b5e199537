import type { All } from '../../store/types';

export function canAdvance(s: All): true | string {
  if (s.lr.status === 'running') return 'Wait for the learning-rate finder to finish.';
  if (s.lr.chosen == null && !s.lr.auto) {
    return s.lr.status === 'error' ? 'The finder did not finish. Try again, or use the automatic rate.' : 'Find a learning rate first.';
  }
  return true;
}
