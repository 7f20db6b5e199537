// Fine-tuning's own loop on tiny inputs: the tiny mobilenet_v1_025 from ../shared/weights at 32x32
// pixels (same weights as 224) and sixteen made-up photos, so each pass takes milliseconds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackbone } from '../backbones/catalog';
import { scanDataset, type ScannedImage } from '../dataset';
import { switchBackend } from '../compute';
import { runOutOfMemoryForTest } from '../gpu/memory';
import { fineTune, loadTunableBackbone } from './fine-tune';
import { createHead } from './head';
import { makePhotos } from './photos.test-helpers';
import { createRandom } from './random';

let tmp: string;
let train: { images: ScannedImage[]; labels: Int32Array };
const spec = getBackbone('mobilenet_v1_025');

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-fine-tune-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  const root = path.join(tmp, 'photos');
  await makePhotos(root, 8);
  const dataset = await scanDataset(root, { validFraction: 0.05 });
  const images = dataset.images;
  train = { images, labels: Int32Array.from(images, (i) => (i.label === 'blue' ? 0 : 1)) };
  await switchBackend('convolutions');
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fresh backbone (own weights) at 32x32 and a head from a fixed seed. */
async function setup() {
  const loaded = await loadTunableBackbone(spec, 32);
  const head = createHead({ inputDim: spec.featureSize, classes: 2, hidden: 0, dropout: 0.2 }, createRandom(3));
  return { ...loaded, head, dispose: () => (head.dispose(), loaded.model.dispose()) };
}

const noValidation = async () => ({ loss: 0, accuracy: 0 });

describe('fineTune', () => {
  it('redoes a slice with half the photos when the graphics card runs out of memory, to the same weights', async () => {
    // Without dropout: a redone slice draws new dropout masks, which is fine in use but not comparable.
    const run = async (outOfMemory: number) => {
      const loaded = await loadTunableBackbone(spec, 32);
      const head = createHead({ inputDim: spec.featureSize, classes: 2, hidden: 0, dropout: 0 }, createRandom(3));
      const s = { ...loaded, head, dispose: () => (head.dispose(), loaded.model.dispose()) };
      const losses: number[] = [];
      runOutOfMemoryForTest(outOfMemory);
      await fineTune({ backbone: s.tunable, spec: s.spec, head: s.head, train, validate: noValidation, epochs: 1, maxLr: 0.01, seed: 5, batchSize: 8, sliceSize: 8, firstEpoch: 1, onBatch: (b) => losses.push(b.loss) });
      const weights = await Promise.all([...s.head.variables, s.tunable.trainableWeights[0]!.read()].map(async (w) => (await w.data()).slice() as Float32Array));
      s.dispose();
      return { losses, weights };
    };
    const start = tf.memory().numTensors;
    const fits = await run(0);
    const afterFits = tf.memory().numTensors;
    const shrunk = await run(2); // 8 photos fail, then 4: the rest goes 2 at a time
    // The slices that did not fit left no tensors behind: the run holds what a run without failures holds.
    expect(tf.memory().numTensors - afterFits).toBe(afterFits - start);
    shrunk.losses.forEach((loss, i) => expect(loss).toBeCloseTo(fits.losses[i]!, 5));
    fits.weights.forEach((w, k) => expect(Math.max(...w.map((x, i) => Math.abs(x - shrunk.weights[k]![i]!))), `weight ${k}`).toBeLessThan(1e-5));
  });

  it('gives up in plain words when even one photo does not fit', async () => {
    const s = await setup();
    runOutOfMemoryForTest(99);
    try {
      await expect(fineTune({ backbone: s.tunable, spec: s.spec, head: s.head, train, validate: noValidation, epochs: 1, maxLr: 0.01, seed: 5, batchSize: 8, sliceSize: 2, firstEpoch: 1 })).rejects.toMatchObject({ code: 'gpu/out-of-memory', message: 'The graphics card ran out of memory training on 1 photos at once.' });
    } finally {
      runOutOfMemoryForTest(0);
      s.dispose();
    }
  });

  it('gives the same weights whether a batch is worked through whole or one photo at a time', async () => {
    const results: Float32Array[][] = [];
    const losses: number[][] = [];
    const progress: { done: number; total: number; etaSeconds: number | null }[][] = [];
    for (const sliceSize of [8, 1]) {
      const s = await setup();
      const batchLosses: number[] = [];
      const events: (typeof progress)[number] = [];
      losses.push(batchLosses);
      progress.push(events);
      await fineTune({ backbone: s.tunable, spec: s.spec, head: s.head, train, validate: noValidation, epochs: 1, maxLr: 0.01, seed: 5, batchSize: 8, sliceSize, firstEpoch: 1, onBatch: (b) => batchLosses.push(b.loss), onProgress: (p) => events.push(p) });
      const weights = [...s.head.variables, s.tunable.trainableWeights[0]!.read(), s.tunable.trainableWeights.at(-1)!.read()];
      results.push(weights.map((w) => w.dataSync().slice() as Float32Array));
      s.dispose();
    }
    const [whole, sliced] = results as [Float32Array[], Float32Array[]];
    // Progress after every slice: per batch when whole, per photo when sliced; the time left reaches 0.
    expect(progress[0]!.map((p) => p.done)).toEqual([8, 16]);
    expect(progress[1]!.map((p) => p.done)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(progress[1]!.every((p) => p.total === 16 && p.etaSeconds !== null && p.etaSeconds >= 0)).toBe(true);
    expect(progress[1]!.at(-1)!.etaSeconds).toBe(0);
    // The backbone's first kernel moved (so the comparison means something) ...
    const fresh = await setup();
    const before = fresh.tunable.trainableWeights[0]!.read().dataSync();
    fresh.dispose();
    expect(Math.max(...whole[2]!.map((w, i) => Math.abs(w - before[i]!)))).toBeGreaterThan(1e-6);
    // ... and by the same amount either way, from the same batch losses (Adam would hide a gradient off by a constant factor; the loss does not).
    expect(losses[0]).toHaveLength(2);
    losses[0]!.forEach((loss, i) => expect(losses[1]![i]).toBeCloseTo(loss, 5));
    whole.forEach((w, k) => {
      const worst = Math.max(...w.map((x, i) => Math.abs(x - sliced[k]![i]!)));
      expect(worst, `weight ${k}`).toBeLessThan(1e-5);
    });
  });

  it('ends with the weights of the epoch with the lowest validation loss, and keeps tensor memory flat', async () => {
    const s = await setup();
    const weights = () => [...s.head.variables, ...s.tunable.trainableWeights.map((w) => w.read())].map((w) => w.dataSync().slice() as Float32Array);
    const largestChange = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((w, k) => Math.max(...w.map((x, i) => Math.abs(x - b[k]![i]!)))));
    // The first epoch scores best; the two after it are worse.
    const losses = [0.5, 0.9, 0.7];
    const checked: Float32Array[][] = [];
    const validate = async () => {
      checked.push(weights());
      return { loss: losses[checked.length - 1]!, accuracy: 0.5 };
    };
    const tensorsBefore = tf.memory().numTensors;
    const result = await fineTune({ backbone: s.tunable, spec: s.spec, head: s.head, train, validate, epochs: 3, maxLr: 0.01, seed: 5, batchSize: 8, firstEpoch: 31 });
    expect(result.epochs.map((h) => [h.epoch, h.validLoss])).toEqual([[31, 0.5], [32, 0.9], [33, 0.7]]);
    expect(result.kept.epoch).toBe(31);
    // The later epochs moved the weights (so the comparison means something) ...
    expect(largestChange(checked[2]!, checked[0]!)).toBeGreaterThan(1e-6);
    // ... and the first epoch's weights are the ones left, exactly.
    expect(largestChange(weights(), checked[0]!)).toBe(0);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    s.dispose();
  });

  it('stops within a batch when cancelled, between two photos, and keeps tensor memory flat', async () => {
    const s = await setup();
    const tensorsBefore = tf.memory().numTensors;
    const controller = new AbortController();
    let slices = 0;
    let abortedAt = 0;
    let slicesAfterAbort = 0;
    const run = fineTune({
      backbone: s.tunable,
      spec: s.spec,
      head: s.head,
      train,
      validate: noValidation,
      epochs: 3,
      maxLr: 0.01,
      seed: 5,
      batchSize: 16,
      sliceSize: 1,
      firstEpoch: 1,
      signal: controller.signal,
      // Awaited before each photo after a batch's first: the third is mid-way through batch one.
      waitIfPaused: async () => {
        if (abortedAt) slicesAfterAbort++;
        if (++slices === 3) {
          controller.abort();
          abortedAt = performance.now();
        }
      },
    });
    await expect(run).rejects.toThrow(/abort/i);
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(slicesAfterAbort).toBe(0);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    s.dispose();
  });
});
