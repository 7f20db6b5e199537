// fast.ai's one-cycle schedule (fit_one_cycle): cosine warm-up from maxLr/divFactor to maxLr over
// the first pctStart of the steps, then cosine decay to maxLr/(divFactor*finalDiv).

export interface OneCycleOptions {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  divFactor?: number;
  finalDiv?: number;
}

const cosine = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (1 + Math.cos(Math.PI * pct));

/** Learning rate for step `step` (0-based) of a one-cycle run. */
export function oneCycle({ maxLr, totalSteps, pctStart = 0.25, divFactor = 25, finalDiv = 1e4 }: OneCycleOptions): (step: number) => number {
  const warm = Math.max(1, Math.round(totalSteps * pctStart));
  const low = maxLr / divFactor;
  const end = low / finalDiv;
  return (step) => {
    if (step < warm) return cosine(low, maxLr, step / warm);
    const rest = Math.max(1, totalSteps - warm);
    return cosine(maxLr, end, Math.min(1, (step - warm) / rest));
  };
}
