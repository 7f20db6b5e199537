/**
 * Index of the largest of `n` values starting at `start` (a row of a flat [rows, classes] array, or a
 * whole array), relative to `start`; the first one wins a tie, as the engine and the exports agree.
 */
export function argmax(values: ArrayLike<number>, start = 0, n = values.length - start): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[start + i]! > values[start + best]!) best = i;
  return best;
}
