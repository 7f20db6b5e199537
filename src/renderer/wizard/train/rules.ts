import type { All } from '../../store/types';

export function canAdvance(s: All): true | string {
  const { status } = s.training;
  if (status === 'running' || status === 'paused') return 'Wait for training to finish, or cancel it.';
  if (status === 'done' || (status === 'idle' && s.restoredRunDir)) return true;
  return 'Train a model first: press "Start training".';
}
