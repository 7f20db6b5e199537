// Classifying photos given as files or folders: the same decode path as training (EXIF rotation,
// CMYK, 16-bit, alpha ...). A file that cannot be read gets an error of its own; the rest go on.
import fs from 'node:fs';
import path from 'node:path';
import type { Prediction } from '../../shared/types';
import { decodeForModel, ImageProblem } from '../dataset/decode';
import { IMAGE_EXTENSIONS } from '../dataset/formats';
import { isIgnoredName } from '../dataset/walk';
import type { Predictor } from './predictor';
import { argmax } from '../../shared/argmax';

/** Files named directly, and the photos inside folders (recursively, by extension, hidden files skipped), in order. */
export async function expandInputs(inputs: string[]): Promise<{ files: string[]; missing: Map<string, string> }> {
  const files: string[] = [];
  // Missing inputs keep their place in the list, and get an error instead of an answer.
  const missing = new Map<string, string>();
  const visit = async (dir: string) => {
    const entries = (await fs.promises.readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (isIgnoredName(e.name)) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await visit(full);
      else if (e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) files.push(full);
    }
  };
  for (const input of inputs) {
    const full = path.resolve(input);
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(full);
    } catch {
      missing.set(full, 'There is no such file or folder.');
      files.push(full);
      continue;
    }
    if (stat.isDirectory()) await visit(full);
    else files.push(full);
  }
  return { files, missing };
}

function describeProblem(error: unknown): string {
  if (error instanceof ImageProblem) return `Cannot use this file as a photo (${error.kind}): ${error.message}`;
  return `Cannot read this file: ${(error as Error).message}`;
}

export async function predictFiles(
  predictor: Predictor,
  inputs: string[],
  opts: { batchSize?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<Prediction[]> {
  const { files, missing } = await expandInputs(inputs);
  const results: Prediction[] = [];
  const batchSize = opts.batchSize ?? 16;
  const size = predictor.recipe.size;
  const k = predictor.labels.length;
  opts.onProgress?.(0, files.length);
  for (let start = 0; start < files.length; start += batchSize) {
    opts.signal?.throwIfAborted();
    const batch = files.slice(start, start + batchSize);
    const decoded = await Promise.all(
      batch.map(async (file) => {
        const absent = missing.get(file);
        if (absent) return { file, error: absent };
        try {
          return { file, pixels: await decodeForModel(file, predictor.recipe) };
        } catch (error) {
          return { file, error: describeProblem(error) };
        }
      }),
    );
    const ok = decoded.filter((d): d is { file: string; pixels: Uint8Array } => 'pixels' in d);
    const pixels = new Uint8Array(ok.length * size * size * 3);
    ok.forEach((d, i) => pixels.set(d.pixels, i * size * size * 3));
    const probs = ok.length ? await predictor.predict(pixels, ok.length) : new Float32Array(0);
    const byFile = new Map(ok.map((d, i) => [d.file, i]));
    for (const d of decoded) {
      const row = byFile.get(d.file);
      if (row === undefined) {
        results.push({ file: d.file, error: (d as { error: string }).error });
        continue;
      }
      const p = Array.from(probs.subarray(row * k, (row + 1) * k));
      const best = argmax(p);
      results.push({ file: d.file, label: predictor.labels[best], probabilities: Object.fromEntries(predictor.labels.map((l, i) => [l, p[i]!])) });
    }
    opts.onProgress?.(Math.min(start + batchSize, files.length), files.length);
  }
  return results;
}
