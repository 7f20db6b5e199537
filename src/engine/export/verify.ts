// Proof that an export predicts what the app predicts: the same photos, decoded by the app's one
// decode path, go through the reloaded export and through the app's own predictor.
import fs from 'node:fs';
import { decodeForModel, type ResizeRecipe } from '../dataset/decode';
import { contentId } from '../dataset/hash';
import type { Runner } from './formats';
import type { Predictor } from './predictor';

export interface VerifyImage {
  path: string;
  /** Index of the true class, when known, to report the export's own accuracy. */
  label?: number;
  /** What the app recorded for this photo at training (predictions.json), valid while the file's content id still matches. */
  recorded?: { id: string; probabilities: number[] };
}

export interface Verification {
  images: number;
  /** Share of images where the top class is the same. */
  agreement: number;
  /** Largest difference of any class probability. */
  maxAbsDiff: number;
  /** Accuracy of the exported model on these images, when labels were given. */
  accuracy: number | null;
  /** Files that could not be read (moved or deleted since training), with why. */
  skipped: { file: string; reason: string }[];
  /** The exported model's probabilities, a row per verified image (for the model card). */
  probabilities: Float32Array;
}

export const AGREEMENT_REQUIRED = 1;
export const MAX_ABS_DIFF_ALLOWED = 1e-4;

const argmax = (row: ArrayLike<number>, start: number, n: number) => {
  let best = 0;
  for (let c = 1; c < n; c++) if (row[start + c]! > row[start + best]!) best = c;
  return best;
};

export async function verifyExport(args: {
  runner: Runner;
  /** The app's predictor, made only when some photo has no recorded prediction (or changed since training). */
  reference: () => Promise<Predictor>;
  labels: string[];
  recipe: ResizeRecipe;
  images: VerifyImage[];
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}): Promise<Verification> {
  const { runner, images, recipe } = args;
  const classes = args.labels.length;
  const size = recipe.size;
  let reference: Predictor | null = null;
  const batchSize = args.batchSize ?? 16;
  const skipped: Verification['skipped'] = [];
  const rows: Float32Array[] = [];
  let compared = 0;
  let agreeing = 0;
  let correct = 0;
  let labelled = 0;
  let maxAbsDiff = 0;

  const decodeBatch = (batch: VerifyImage[]) =>
    Promise.all(
      batch.map(async (img) => {
        try {
          const bytes = await fs.promises.readFile(img.path);
          const recorded = img.recorded && img.recorded.probabilities.length === classes && contentId(bytes) === img.recorded.id ? img.recorded.probabilities : null;
          return { img, recorded, pixels: await decodeForModel(bytes, recipe) };
        } catch (error) {
          skipped.push({ file: img.path, reason: (error as Error).message });
          return null;
        }
      }),
    );

  try {
    // Decode the next batch while the current one runs through both models.
    let next = decodeBatch(images.slice(0, batchSize));
    for (let start = 0; start < images.length; start += batchSize) {
      args.signal?.throwIfAborted();
      const decoded = (await next).filter((d) => d !== null);
      next = decodeBatch(images.slice(start + batchSize, start + 2 * batchSize));
      const n = decoded.length;
      if (n > 0) {
        const pixels = new Uint8Array(n * size * size * 3);
        decoded.forEach((d, i) => pixels.set(d.pixels, i * size * size * 3));
        // The app's answers: recorded at training where the photo is unchanged, else computed now.
        const expected = new Float32Array(n * classes);
        const missing = decoded.map((d, i) => (d.recorded ? -1 : i)).filter((i) => i >= 0);
        decoded.forEach((d, i) => d.recorded && expected.set(d.recorded, i * classes));
        if (missing.length > 0) {
          reference ??= await args.reference();
          const subset = new Uint8Array(missing.length * size * size * 3);
          missing.forEach((i, j) => subset.set(decoded[i]!.pixels, j * size * size * 3));
          const computed = await reference.predict(subset, missing.length);
          missing.forEach((i, j) => expected.set(computed.subarray(j * classes, (j + 1) * classes), i * classes));
        }
        const actual = await runner.run(Float32Array.from(pixels), n);
        if (actual.length !== expected.length) {
          throw new Error(`The exported model gives ${actual.length / n} values per image; the app gives ${classes}.`);
        }
        for (let i = 0; i < n; i++) {
          const a = argmax(actual, i * classes, classes);
          if (a === argmax(expected, i * classes, classes)) agreeing++;
          const label = decoded[i]!.img.label;
          if (label !== undefined) {
            labelled++;
            if (a === label) correct++;
          }
        }
        for (let k = 0; k < actual.length; k++) {
          const d = Math.abs(actual[k]! - expected[k]!);
          maxAbsDiff = Number.isNaN(d) ? Infinity : Math.max(maxAbsDiff, d); // a NaN anywhere is a failure
        }
        rows.push(actual);
        compared += n;
      }
      args.onProgress?.(Math.min(start + batchSize, images.length), images.length);
    }
    await next;
  } finally {
    reference?.dispose();
  }
  const probabilities = new Float32Array(compared * classes);
  let offset = 0;
  for (const r of rows) {
    probabilities.set(r, offset);
    offset += r.length;
  }
  return {
    images: compared,
    agreement: compared === 0 ? 0 : agreeing / compared,
    maxAbsDiff,
    accuracy: labelled === 0 ? null : correct / labelled,
    skipped,
    probabilities,
  };
}
