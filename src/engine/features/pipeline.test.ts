import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { sharedDir } from '../paths';
import { createFeatureCache } from './cache';
import type { Extractor } from './extractor';
import { computeFeatures, type Dataset, type FeatureProgress, type ScannedImage } from './pipeline';

const DIM = 1280; // mobilenet_v2_035's feature size
const PER_IMAGE = 224 * 224 * 3;

/** A stand-in backbone: each feature is one sampled pixel, so different pixels give different features. */
function fakeExtractor(delayMs = 0) {
  const calls: number[] = [];
  const extractor: Extractor = {
    backend: 'fake',
    route: 'tfjs',
    notes: 'fake',
    featureSize: DIM,
    inputSize: 224,
    async embed(pixels, n) {
      calls.push(n);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const out = new Float32Array(n * DIM);
      for (let i = 0; i < n; i++) for (let j = 0; j < DIM; j++) out[i * DIM + j] = pixels[i * PER_IMAGE + ((j * 7919) % PER_IMAGE)]! / 255;
      return out;
    },
    dispose() {},
  };
  return { extractor, calls, images: () => calls.reduce((a, b) => a + b, 0) };
}

function image(file: string, label: string, split: ScannedImage['split']): ScannedImage {
  const bytes = fs.readFileSync(file);
  return { file: path.basename(file), path: file, label, split, id: crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 32), width: 0, height: 0 };
}

function dataset(images: ScannedImage[]): Dataset {
  return { summary: { classes: [{ name: 'ants', images: { train: 0, valid: 0, test: 0 } }, { name: 'bees', images: { train: 0, valid: 0, test: 0 } }] }, images };
}

const root = path.join(sharedDir(), 'datasets', 'hymenoptera');
const pick = (split: string, label: string, n: number, from = 0) =>
  fs.readdirSync(path.join(root, split, label)).filter((f) => f.endsWith('.jpg')).sort().slice(from, from + n).map((f) => path.join(root, split, label, f));

const train = [...pick('train', 'ants', 3).map((f) => image(f, 'ants', 'train')), ...pick('train', 'bees', 3).map((f) => image(f, 'bees', 'train'))];
const valid = [image(pick('val', 'ants', 1)[0]!, 'ants', 'valid'), image(pick('val', 'bees', 1)[0]!, 'bees', 'valid')];
const test = [image(pick('val', 'bees', 1, 5)[0]!, 'bees', 'test')];

let cacheRoot: string;
beforeEach(() => {
  cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-features-'));
});

describe('computeFeatures', () => {
  it('computes centre, augmented views and flips with the right shapes, labels and progress', async () => {
    const fake = fakeExtractor();
    const progress: FeatureProgress[] = [];
    const out = await computeFeatures(dataset([...train, ...valid, ...test]), {
      backbone: 'mobilenet_v2_035', views: 2, tta: true, batchSize: 8,
      extractor: fake.extractor, cache: createFeatureCache(cacheRoot), onProgress: (p) => progress.push(p),
    });
    expect(out.classes).toEqual(['ants', 'bees']);
    expect(out.train.data.length).toBe(6 * DIM);
    expect(Array.from(out.train.labels)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(out.trainViews).toHaveLength(2);
    expect(out.valid.images.map((i) => i.label)).toEqual(['ants', 'bees']);
    expect(out.validFlip!.data.length).toBe(2 * DIM);
    expect(out.test.data.length).toBe(DIM);
    // 6 train x (centre + 2 views) + 3 valid/test x (centre + flip)
    expect(fake.images()).toBe(6 * 3 + 3 * 2);
    expect(Math.max(...fake.calls)).toBeLessThanOrEqual(8 + 2); // batches stay near batchSize
    expect(out.stats).toMatchObject({ cached: 0, computed: 24 });
    const last = progress.at(-1)!;
    expect(last).toEqual({ done: 24, total: 24 });
    // Views and flips are other pictures than the centre crop, so their features differ.
    const row = (m: Float32Array, i: number) => m.subarray(i * DIM, (i + 1) * DIM);
    expect(row(out.trainViews[0]!.data, 0)).not.toEqual(row(out.train.data, 0));
    expect(row(out.trainViews[1]!.data, 0)).not.toEqual(row(out.trainViews[0]!.data, 0));
    expect(row(out.validFlip!.data, 0)).not.toEqual(row(out.valid.data, 0));
  });

  it('reuses the cache: a second run computes nothing, adding a photo computes only that photo', async () => {
    const cache = createFeatureCache(cacheRoot);
    const opts = { backbone: 'mobilenet_v2_035', views: 2, tta: true, cache };
    const first = await computeFeatures(dataset([...train, ...valid]), { ...opts, extractor: fakeExtractor().extractor });

    const again = fakeExtractor();
    const second = await computeFeatures(dataset([...train, ...valid]), { ...opts, extractor: again.extractor });
    expect(again.calls).toEqual([]);
    expect(second.stats).toMatchObject({ cached: 22, computed: 0 });
    expect(second.train.data).toEqual(first.train.data);
    expect(second.trainViews[1]!.data).toEqual(first.trainViews[1]!.data);

    const added = fakeExtractor();
    const extra = image(pick('train', 'bees', 1, 10)[0]!, 'bees', 'train');
    const third = await computeFeatures(dataset([...train, extra, ...valid]), { ...opts, extractor: added.extractor });
    expect(added.images()).toBe(3); // the new photo's centre and two views
    expect(third.train.images).toHaveLength(7);

    // Without TTA the flips are not needed; another seed means other views.
    const noTta = fakeExtractor();
    const fourth = await computeFeatures(dataset([...train, ...valid]), { ...opts, tta: false, seed: 7, extractor: noTta.extractor });
    expect(fourth.validFlip).toBeNull();
    expect(noTta.images()).toBe(6 * 2);
  });

  it('keys the cache by the backbone copy\'s weights: other weights under the same id miss, the same weights hit', async () => {
    // A copy of the shared weights as the bundled backbone (the first place a backbone is looked for).
    const bundled = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bundled-'));
    const copy = path.join(bundled, 'mobilenet_v2_035');
    fs.cpSync(path.join(sharedDir(), 'weights', 'mobilenet_v2_035_224_notop'), copy, { recursive: true });
    fs.chmodSync(path.join(copy, 'weights.bin'), 0o644);
    const original = fs.readFileSync(path.join(copy, 'weights.bin'));
    const setWeights = (bytes: Buffer, secondsLater: number) => {
      fs.writeFileSync(path.join(copy, 'weights.bin'), bytes);
      const t = new Date(Date.now() + secondsLater * 1000); // a new mtime, as a download or a fine-tune leaves
      fs.utimesSync(path.join(copy, 'weights.bin'), t, t);
    };
    const before = process.env.FOLDWISE_BUNDLED_BACKBONES;
    process.env.FOLDWISE_BUNDLED_BACKBONES = bundled;
    try {
      const cache = createFeatureCache(cacheRoot);
      const computed = async () => (await computeFeatures(dataset(train.slice(0, 2)), { backbone: 'mobilenet_v2_035', views: 0, tta: false, cache, extractor: fakeExtractor().extractor })).stats.computed;
      expect(await computed()).toBe(2);
      expect(await computed()).toBe(0);
      const tuned = Buffer.from(original);
      tuned[tuned.length - 1] = tuned[tuned.length - 1]! ^ 1; // one weight's last bit: same size, other weights
      setWeights(tuned, 10);
      expect(await computed()).toBe(2);
      setWeights(original, 20); // the first weights again: their vectors are still cached
      expect(await computed()).toBe(0);
    } finally {
      if (before === undefined) delete process.env.FOLDWISE_BUNDLED_BACKBONES;
      else process.env.FOLDWISE_BUNDLED_BACKBONES = before;
      fs.rmSync(bundled, { recursive: true, force: true });
    }
  });

  it('makes augmented views deterministic per (photo, view, seed)', async () => {
    const a = await computeFeatures(dataset(train.slice(0, 2)), { backbone: 'mobilenet_v2_035', views: 2, extractor: fakeExtractor().extractor, cache: createFeatureCache(cacheRoot) });
    const b = await computeFeatures(dataset(train.slice(0, 2)), { backbone: 'mobilenet_v2_035', views: 2, extractor: fakeExtractor().extractor, cache: createFeatureCache(fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-features-'))) });
    expect(b.trainViews[0]!.data).toEqual(a.trainViews[0]!.data);
    expect(b.trainViews[1]!.data).toEqual(a.trainViews[1]!.data);
  });

  it('stops within a second of cancel and throws an AbortError', async () => {
    const slow = fakeExtractor(400);
    const controller = new AbortController();
    let abortedAt = 0;
    const run = computeFeatures(dataset([...train, ...valid, ...test]), {
      backbone: 'mobilenet_v2_035', views: 2, batchSize: 4, extractor: slow.extractor, cache: createFeatureCache(cacheRoot), signal: controller.signal,
      onProgress: (p) => {
        if (p.done > 0 && !abortedAt) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(slow.images()).toBeLessThan(24);
  });

  it('leaves out a photo that cannot be decoded, naming it, and keeps the rest', async () => {
    const broken = path.join(cacheRoot, 'broken.jpg');
    fs.writeFileSync(broken, 'not a jpeg at all');
    const bad: ScannedImage = { file: 'broken.jpg', path: broken, label: 'ants', split: 'train', id: 'broken-id', width: 1, height: 1 };
    // In the middle, so the rows after it move up.
    const out = await computeFeatures(dataset([train[0]!, bad, train[1]!]), { backbone: 'mobilenet_v2_035', views: 1, extractor: fakeExtractor().extractor, cache: createFeatureCache(path.join(cacheRoot, 'c')) });
    expect(out.skipped).toHaveLength(1);
    expect(out.skipped[0]!.file).toBe(broken);
    expect(out.train.images).toHaveLength(2);
    expect(out.trainViews[0]!.images).toHaveLength(2);
    const clean = await computeFeatures(dataset(train.slice(0, 2)), { backbone: 'mobilenet_v2_035', views: 1, extractor: fakeExtractor().extractor, cache: createFeatureCache(path.join(cacheRoot, 'd')) });
    expect(out.train.data).toEqual(clean.train.data);
    expect(out.trainViews[0]!.data).toEqual(clean.trainViews[0]!.data);
    expect(Array.from(out.train.labels)).toEqual(Array.from(clean.train.labels));
  });
});
