import type { LrCurve } from '../../../shared/types';
import type { All } from '../../store/types';

export function canAdvance(s: All): true | string {
  if (s.lr.status === 'running') return 'Wait for the learning-rate finder to finish.';
  if (s.lr.chosen == null && !s.lr.auto) {
    return s.lr.status === 'error' ? 'The finder did not finish. Try again, or use the automatic rate.' : 'Find a learning rate first.';
  }
  return true;
}

/**
 * A gentle warning when the chosen rate is far from what the curve supports, or null when it looks
 * fine. Too small: 30x below the suggestion, or where the curve has not started falling yet (the
 * model barely changes there). Too large: past the curve's lowest point, where the loss turns up,
 * or 30x above the suggestion.
 */
export function rateWarning(curve: LrCurve, chosen: number | null): string | null {
  const points = curve.curve.filter((p) => p.lr > 0 && Number.isFinite(p.loss));
  if (chosen == null || !(chosen > 0) || points.length < 3) return null;
  const lowest = points.reduce((a, p) => (p.loss < a.loss ? p : a), points[0]!);
  const head = points.slice(0, Math.max(1, Math.ceil(points.length / 10)));
  const start = head.reduce((a, p) => a + p.loss, 0) / head.length;
  const nearest = points.reduce((a, p) => (Math.abs(Math.log(p.lr / chosen)) < Math.abs(Math.log(a.lr / chosen)) ? p : a), points[0]!);
  // How much of the curve's whole fall has happened by the chosen rate (0: still flat, 1: at the bottom).
  const fallen = start > lowest.loss ? (start - nearest.loss) / (start - lowest.loss) : 1;

  if (chosen > lowest.lr || chosen > curve.suggestion * 30) {
    return 'This rate is very large: past the lowest point of the curve the loss goes up, so training may jump around or fall apart instead of learning.';
  }
  if (chosen < curve.suggestion / 30 || (chosen < curve.suggestion && fallen < 0.1)) {
    const times = curve.suggestion / chosen;
    const below = times >= 2 ? ` (${times >= 100 ? 'over 100' : Math.round(times)} times below the suggestion)` : '';
    return `This rate is very small${below}: the curve is still flat here, so training will barely move and the model may learn almost nothing.`;
  }
  return null;
}
