// About how much disk a finished run folder takes, so training can refuse a disk that is too full
// before it spends minutes on the photos (the writer checks it with one statfs call).
// Measured on hymenoptera runs: predictions.json ~170 bytes a photo plus its names plus ~32 bytes a
// class (one pretty-printed probability per line); the head and backbone are their float32 weights.

export interface RunSizeInput {
  featureSize: number;
  classes: number;
  /** The head's hidden units (0: a linear head). */
  hidden: number;
  /** The photos whose predictions are saved; none known yet gives the least a run can take. */
  images?: readonly { file: string; path?: string }[];
  /** Bytes of the backbone's weights when training may save a fine-tuned copy; 0 otherwise. */
  backboneBytes: number;
}

/** Config, metadata, metrics and result: a few kB each, a few more per epoch. */
const SMALL_FILES = 128 * 1024;

export function estimateRunBytes(r: RunSizeInput): number {
  const k = Math.max(2, r.classes);
  let predictions = 0;
  for (const img of r.images ?? []) predictions += 200 + img.file.length + (img.path?.length ?? 0) + 32 * k;
  const weights = r.hidden > 0 ? r.featureSize * r.hidden + r.hidden + r.hidden * k + k : r.featureSize * k + k;
  const head = 4 * weights + 4096;
  return Math.ceil(predictions * 1.1) + head + r.backboneBytes + SMALL_FILES;
}
