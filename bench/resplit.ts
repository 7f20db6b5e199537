// Random re-splits of a dataset's labelled, non-test photos, for the held-out benches (holdout.ts,
// scales.ts): each split holds out 20% per class for scoring only, and 20% of the rest is validation.
import type { FeatureMatrix } from '../src/engine/features';
import { createRandom } from '../src/engine/train/random';

/** The rows `picked` (numbered across `matrices`, in order) as one matrix. */
export function rowsOf(matrices: FeatureMatrix[], picked: number[]): FeatureMatrix {
  const all = matrices.flatMap((m) => m.images.map((_, row) => ({ m, row })));
  const dim = matrices[0]!.dim;
  const data = new Float32Array(picked.length * dim);
  picked.forEach((i, k) => data.set(all[i]!.m.data.subarray(all[i]!.row * dim, (all[i]!.row + 1) * dim), k * dim));
  return { dim, data, labels: Int32Array.from(picked, (i) => all[i]!.m.labels[all[i]!.row]!), images: picked.map((i) => all[i]!.m.images[all[i]!.row]!) };
}

/** Row numbers for [holdout, validation, training], stratified by class. */
export function resplit(labels: number[], seed: number): [number[], number[], number[]] {
  const random = createRandom(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => byClass.set(label, [...(byClass.get(label) ?? []), i]));
  const parts: [number[], number[], number[]] = [[], [], []];
  for (const rows of byClass.values()) {
    const shuffled = random.shuffle([...rows]);
    const held = Math.round(shuffled.length * 0.2);
    const valid = Math.round((shuffled.length - held) * 0.2);
    shuffled.forEach((row, i) => parts[i < held ? 0 : i < held + valid ? 1 : 2].push(row));
  }
  return parts;
}

/** Mean and standard error of paired differences a[i] - b[i]. */
export function pairedDifference(a: number[], b: number[]): { mean: number; standardError: number } {
  const d = a.map((x, i) => x - b[i]!);
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, d.length - 1));
  return { mean, standardError: sd / Math.sqrt(d.length) };
}
