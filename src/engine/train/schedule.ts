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

export interface HeadLength {
  /** Epochs for a folder small enough (the recipe's length). */
  epochs: number;
  batchSize: number;
  /** The most batches (optimizer updates) in all; a bigger folder gets fewer epochs. */
  maxUpdates: number;
  /** Never fewer epochs than this, however big the folder. */
  minEpochs: number;
}

/**
 * Epochs of head training when none are given. What a head needs is a number of updates, not of passes:
 * 30 epochs over 9,600 photos are 4,500 updates where 750 serve 1,600 photos as well. So a folder whose
 * `epochs` would take more than `maxUpdates` batches trains for as many epochs as fit in them.
 */
export function headEpochsFor(trainPhotos: number, { epochs, batchSize, maxUpdates, minEpochs }: HeadLength): number {
  const perEpoch = Math.max(1, Math.ceil(trainPhotos / batchSize));
  return Math.max(Math.min(minEpochs, epochs), Math.min(epochs, Math.round(maxUpdates / perEpoch)));
}
