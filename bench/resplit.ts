// Random re-splits of a dataset's labelled, non-test photos, for the held-out benches (holdout.ts,
// scales.ts): each split holds out 20% per class for scoring only, and 20% of the rest is validation.
import type { FeatureMatrix } from '../src/engine/features';
import { createRandom } from '../src/engine/train/random';
import { mean } from './common';

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

/** The paired differences a[i] - b[i], their mean and its standard error. */
export function pairedDifference(a: number[], b: number[]): { differences: number[]; mean: number; standardError: number } {
  const differences = a.map((x, i) => x - b[i]!);
  const m = mean(differences);
  const sd = Math.sqrt(differences.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, differences.length - 1));
  return { differences, mean: m, standardError: sd / Math.sqrt(differences.length) };
}
