// Pieces shared by the accuracy benches: the split both recipes use, feature loading with progress
// on stderr, and small statistics helpers.
import path from 'node:path';
import { scanDataset, type Dataset } from '../src/engine/dataset';
import { computeFeatures, type DatasetFeatures } from '../src/engine/features';
import { sharedDir } from '../src/engine/paths';
import { createRandom } from '../src/engine/train/random';

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
export const round = (x: number) => Math.round(x * 10000) / 10000;
export const log = (message: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

/** The dataset's held-out photos become 'test'; validation is carved (20%, stratified, fixed seed) from training if needed. */
export function benchSplit(dataset: Dataset): Dataset {
  const hasTest = dataset.images.some((i) => i.split === 'test');
  const images = dataset.images.map((image) => ({ ...image, split: !hasTest && image.split === 'valid' ? ('test' as const) : image.split }));
  if (!images.some((i) => i.split === 'valid')) {
    const random = createRandom(12345);
    const byClass = new Map<string, typeof images>();
    for (const image of images) if (image.split === 'train') byClass.set(image.label, [...(byClass.get(image.label) ?? []), image]);
    for (const list of byClass.values()) for (const image of random.shuffle([...list]).slice(0, Math.round(list.length * 0.2))) image.split = 'valid';
  }
  return { ...dataset, images };
}

/** Scans ../shared/datasets/<name>, applies benchSplit and computes (or loads cached) features. */
export async function benchFeatures(name: string, views?: number, backbone = 'mobilenet_v2_035'): Promise<DatasetFeatures> {
  const root = path.join(sharedDir(), 'datasets', name);
  log(`${name}: scanning`);
  const dataset = benchSplit(await scanDataset(root));
  log(`${name}: features (${backbone})`);
  let lastLog = 0;
  return computeFeatures(dataset, {
    backbone,
    views,
    onProgress: ({ done, total }) => {
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`${name}: features ${done}/${total}`);
      }
    },
  });
}
