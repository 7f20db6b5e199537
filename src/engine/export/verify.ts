// Proof that an export predicts what the app predicts: the same photos, decoded by the app's one
// decode path, go through the reloaded export and through the app's own predictor.
import fs from 'node:fs';
import { decodeForModel, type ResizeRecipe } from '../dataset/decode';
import { contentId } from '../dataset/hash';
import type { Runner } from './formats';
import type { Predictor } from './predictor';
import { argmax } from '../../shared/argmax';
import { joinFloats } from '../../shared/join-floats';

export interface VerifyImage {
  path: string;
  /** Index of the true class, when known, to report the export's own accuracy. */
  label?: number;
  /** What the app recorded for this photo at training (the run's saved predictions), valid while the file's content id still matches. */
  recorded?: { id: string; probabilities: number[] };
}

export interface Verification {
  images: number;
  /** Share of images where the top class is the same. */
  agreement: number;
  /** Largest difference of any class probability. */
  maxAbsDiff: number;
  /** Mean over images of each image's largest class-probability difference. */
  meanAbsDiff: number;
  /** Accuracy of the exported model on these images, when labels were given. */
  accuracy: number | null;
  /** Files that could not be read (moved or deleted since training), with why. */
  skipped: { file: string; reason: string }[];
  /** The exported model's probabilities, a row per verified image (for the model card and the samples). */
  probabilities: Float32Array;
  /** The verified images' paths, one per row of `probabilities`. */
  files: string[];
}

export const AGREEMENT_REQUIRED = 1;
export const MAX_ABS_DIFF_ALLOWED = 1e-4;

export async function verifyExport(args: {
  /** The reloaded export, or its load still under way (photos are decoded meanwhile). */
  runner: Runner | Promise<Runner>;
  /** The app's predictor, made only when some photo has no recorded prediction (or changed since training). */
  reference: () => Promise<Predictor>;
  labels: string[];
  recipe: ResizeRecipe;
  images: VerifyImage[];
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}): Promise<Verification> {
  const { images, recipe } = args;
  const runnerReady = Promise.resolve(args.runner);
  runnerReady.catch(() => undefined); // awaited below; this only keeps an early abort from leaving it unhandled
  const classes = args.labels.length;
  const size = recipe.size;
  const perImage = size * size * 3;
  let reference: Predictor | null = null;
  const batchSize = args.batchSize ?? 16;
  const skipped: Verification['skipped'] = [];
  const rows: Float32Array[] = [];
  const files: string[] = [];
  let compared = 0;
  let agreeing = 0;
  let correct = 0;
  let labelled = 0;
  let maxAbsDiff = 0;
  let sumOfImageDiffs = 0;

  // Every photo is decoded ahead, a few at a time in order, from the start: while the export's
  // runtime is still starting and while earlier batches run through it.
  const decodeOne = async (img: VerifyImage) => {
    try {
      const bytes = await fs.promises.readFile(img.path);
      const recorded = img.recorded && img.recorded.probabilities.length === classes && contentId(bytes) === img.recorded.id ? img.recorded.probabilities : null;
      return { img, recorded, pixels: await decodeForModel(bytes, recipe) };
    } catch (error) {
      return { img, error: (error as Error).message };
    }
  };
  const decoded = inOrder(images, DECODE_AHEAD, decodeOne);

  type Batch = { rows: { img: VerifyImage }[]; expected: Float32Array; actual: Promise<Float32Array>; end: number };
  const compare = async (batch: Batch) => {
    const n = batch.rows.length;
    const actual = await batch.actual;
    if (actual.length !== batch.expected.length) {
      throw new Error(`The exported model gives ${actual.length / n} values per image; the app gives ${classes}.`);
    }
    for (let i = 0; i < n; i++) {
      const a = argmax(actual, i * classes, classes);
      if (a === argmax(batch.expected, i * classes, classes)) agreeing++;
      const label = batch.rows[i]!.img.label;
      if (label !== undefined) {
        labelled++;
        if (a === label) correct++;
      }
    }
    for (let i = 0; i < n; i++) {
      let image = 0;
      for (let k = i * classes; k < (i + 1) * classes; k++) {
        const d = Math.abs(actual[k]! - batch.expected[k]!);
        image = Number.isNaN(d) ? Infinity : Math.max(image, d); // a NaN anywhere is a failure
      }
      maxAbsDiff = Math.max(maxAbsDiff, image);
      sumOfImageDiffs += image;
    }
    rows.push(actual);
    files.push(...batch.rows.map((r) => r.img.path));
    compared += n;
    args.onProgress?.(batch.end, images.length);
  };

  // Two batches in flight, so the export's runtime (worker threads) never waits for this thread.
  const inFlight: Batch[] = [];
  try {
    for (let start = 0; start < images.length; start += batchSize) {
      args.signal?.throwIfAborted();
      const end = Math.min(start + batchSize, images.length);
      const ready: { img: VerifyImage; recorded: number[] | null; pixels: Uint8Array }[] = [];
      for (let i = start; i < end; i++) {
        const d = await decoded(i);
        if ('error' in d) skipped.push({ file: d.img.path, reason: d.error! });
        else ready.push(d);
      }
      const n = ready.length;
      if (n === 0) {
        args.onProgress?.(end, images.length);
        continue;
      }
      const pixels = new Float32Array(n * perImage);
      ready.forEach((d, i) => pixels.set(d.pixels, i * perImage));
      // The app's answers: recorded at training where the photo is unchanged, else computed now.
      const expected = new Float32Array(n * classes);
      const missing = ready.map((d, i) => (d.recorded ? -1 : i)).filter((i) => i >= 0);
      ready.forEach((d, i) => d.recorded && expected.set(d.recorded, i * classes));
      if (missing.length > 0) {
        reference ??= await args.reference();
        const subset = new Uint8Array(missing.length * perImage);
        missing.forEach((i, j) => subset.set(ready[i]!.pixels, j * perImage));
        const computed = await reference.predict(subset, missing.length);
        missing.forEach((i, j) => expected.set(computed.subarray(j * classes, (j + 1) * classes), i * classes));
      }
      const runner = await runnerReady;
      const actual = runner.run(pixels, n);
      actual.catch(() => undefined); // awaited in compare(); an abort in between must not leave it unhandled
      inFlight.push({ rows: ready, expected, actual, end });
      if (inFlight.length >= 2) await compare(inFlight.shift()!);
    }
    while (inFlight.length > 0) await compare(inFlight.shift()!);
  } finally {
    reference?.dispose();
  }
  return {
    images: compared,
    agreement: compared === 0 ? 0 : agreeing / compared,
    maxAbsDiff,
    meanAbsDiff: compared === 0 ? 0 : sumOfImageDiffs / compared,
    accuracy: labelled === 0 ? null : correct / labelled,
    skipped,
    probabilities: joinFloats(rows),
    files,
  };
}

/** Photos decoded at once: enough to keep sharp's threads busy, few enough that the first batch is ready early. */
const DECODE_AHEAD = 4;

/**
 * Runs `work` on every item, at most `limit` at a time, starting in order right away; `get(i)` waits
 * for item i. `work` must not throw (it reports failures in its result).
 */
function inOrder<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): (i: number) => Promise<R> {
  const results: Promise<R>[] = new Array(items.length);
  let next = 0;
  const startNext = () => {
    if (next >= items.length) return;
    const i = next++;
    results[i] = work(items[i]!).finally(startNext);
  };
  for (let k = 0; k < Math.min(limit, items.length); k++) startNext();
  return (i) => results[i]!;
}
