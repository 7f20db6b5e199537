// Golden samples in every export: a few checking photos, the app's own probabilities for them and the
// exported file's, as Foldwise ran it when checking it (samples/expected.json), so whoever uses the
// model can run the snippet's --check mode, on their machine and with their pipeline, and see how far
// its answers are from the file's (tight: the same file should give the same numbers) and the app's.
import fs from 'node:fs';
import path from 'node:path';
import { argmax } from '../../shared/argmax';
import { decodeForModel, type ResizeRecipe } from '../dataset/decode';
import { contentId } from '../dataset/hash';
import type { Predictor } from './predictor';
import type { VerifyImage } from './verify';

export const SAMPLES_DIR = 'samples';
export const EXPECTED_FILE = 'expected.json';
export const SAMPLE_COUNT = 3;

export interface ExpectedSample {
  /** Path inside the export folder, e.g. "samples/1-ants.jpg". */
  file: string;
  /** The photo's class in the user's folders, when known. */
  label: string | null;
  /** What the app says: its top class and one probability per label, in label order. */
  app: SampleAnswer;
  /**
   * What the exported file gave when Foldwise checked it (LiteRT.js, tfjs, onnxruntime): what --check
   * compares with. It differs from `app` by the rounding a float16 or 8-bit file does on purpose. Absent
   * where nothing here runs the file (Core ML).
   */
  model?: SampleAnswer;
}

export interface SampleAnswer {
  label: string;
  probabilities: number[];
}

export interface ExpectedSamples {
  about: string;
  labels: string[];
  samples: ExpectedSample[];
}

/** Checking photos in the order samples are taken: the first photo of each class, then the rest in order. */
export function sampleOrder<T extends { label?: number }>(images: T[]): T[] {
  const firsts = new Set<T>();
  const seen = new Set<number>();
  for (const img of images) {
    if (img.label !== undefined && !seen.has(img.label)) {
      seen.add(img.label);
      firsts.add(img);
    }
  }
  return [...firsts, ...images.filter((img) => !firsts.has(img))];
}

/** Photo file name inside samples/: numbered (two photos may share a name) and safe on every file system. */
function sampleName(index: number, file: string, label: string | null): string {
  const ext = path.extname(file).toLowerCase().replace(/[^.a-z0-9]/g, '') || '.jpg';
  const base = path.basename(file, path.extname(file)).replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
  return `${index + 1}-${label ? label.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 20) + '-' : ''}${base}${ext}`;
}

/**
 * Copies up to SAMPLE_COUNT readable checking photos into `dir`/samples with the app's probabilities:
 * those recorded at training where the photo is unchanged, else computed now by `reference`.
 * Returns the files written, relative to `dir`.
 */
export async function writeSamples(
  dir: string,
  args: {
    images: VerifyImage[];
    labels: string[];
    recipe: ResizeRecipe;
    reference: () => Promise<Predictor>;
    /** The exported file's answers from verification, by photo path. */
    model?: Map<string, number[]>;
    count?: number;
  },
): Promise<string[]> {
  const { labels, recipe } = args;
  const count = args.count ?? SAMPLE_COUNT;
  const chosen: { img: VerifyImage; bytes: Buffer; pixels: Uint8Array; probabilities: number[] | null }[] = [];
  for (const img of sampleOrder(args.images)) {
    if (chosen.length >= count) break;
    try {
      const bytes = await fs.promises.readFile(img.path);
      const pixels = await decodeForModel(bytes, recipe); // a photo the app cannot read is no sample
      const recorded = img.recorded && img.recorded.probabilities.length === labels.length && contentId(bytes) === img.recorded.id ? img.recorded.probabilities : null;
      chosen.push({ img, bytes, pixels, probabilities: recorded });
    } catch {
      continue;
    }
  }
  const missing = chosen.filter((c) => c.probabilities === null);
  if (missing.length > 0) {
    const app = await args.reference();
    try {
      const one = recipe.size * recipe.size * 3;
      const pixels = new Uint8Array(missing.length * one);
      missing.forEach((c, i) => pixels.set(c.pixels, i * one));
      const probs = await app.predict(pixels, missing.length);
      missing.forEach((c, i) => (c.probabilities = Array.from(probs.subarray(i * labels.length, (i + 1) * labels.length))));
    } finally {
      app.dispose();
    }
  }
  await fs.promises.mkdir(path.join(dir, SAMPLES_DIR), { recursive: true });
  const samples: ExpectedSample[] = [];
  for (const [i, c] of chosen.entries()) {
    const label = c.img.label === undefined ? null : (labels[c.img.label] ?? null);
    const file = `${SAMPLES_DIR}/${sampleName(i, c.img.path, label)}`;
    await fs.promises.writeFile(path.join(dir, file), c.bytes);
    const answer = (probabilities: number[]): SampleAnswer => ({ label: labels[argmax(probabilities)]!, probabilities });
    const model = args.model?.get(c.img.path);
    samples.push({ file, label, app: answer(c.probabilities!), ...(model ? { model: answer(model) } : {}) });
  }
  const expected: ExpectedSamples = {
    about:
      "Photos the export was checked on, with Foldwise's own probabilities for them (app) and the exported model's when Foldwise ran it (model), in the order of labels. " +
      'Run the snippet beside the model with --check to see how far your pipeline is from these answers.',
    labels: [...labels],
    samples,
  };
  await fs.promises.writeFile(path.join(dir, SAMPLES_DIR, EXPECTED_FILE), JSON.stringify(expected, null, 2));
  return [...samples.map((s) => s.file), `${SAMPLES_DIR}/${EXPECTED_FILE}`];
}
