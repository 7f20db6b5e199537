// Top fine-tuning on a tiny folder with the tiny backbone: the top's own forward pass matches the
// feature model, the activation cache is used on the second run, tensors do not pile up across
// epochs, and the tuned top is kept exactly when it beat the head alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackbone } from '../../backbones/catalog';
import { loadFeatureModel } from '../../backbones/load';
import { switchBackend, withBackend } from '../../compute';
import { computeActivations, createActivationCache } from '../../features';
import { TRAIN_DEFAULTS } from '../defaults';
import { createHead } from '../head';
import { makePhotos } from '../photos.test-helpers';
import { createRandom } from '../random';
import { TOP_NEED, topOfBackbone } from '../top-of-backbone';
import { trainHead } from './head';
import { prepare } from './prepare';
import { fineTuneTop, trainTop, type TopRecipe } from './fine-tune-top';

const spec = getBackbone('mobilenet_v1_025');
let tmp: string;
let root: string;
const ctx = { job: 'top', signal: new AbortController().signal, emit: () => undefined };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-top-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  root = path.join(tmp, 'photos');
  await makePhotos(root, 8);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the top of the backbone', () => {
  it('gives the feature model’s own features from the activations at the cut', async () => {
    await switchBackend('head');
    const model = await loadFeatureModel(spec.id);
    const top = topOfBackbone(model, 'conv_pw_12_relu');
    const pixels = tf.randomUniform([2, 224, 224, 3], 0, 255, 'float32', 7);
    const expected = (model.predict(pixels) as tf.Tensor).arraySync() as number[][];
    expect(top.shape).toEqual([7, 7, 256]);
    // Both ways of running the top: its own layers, and the tensor-op formulation.
    for (const way of [top, topOfBackbone(model, 'conv_pw_12_relu', { withLayers: false })]) {
      const got = tf.tidy(() => way.features(top.bottom.predict(pixels) as tf.Tensor4D)).arraySync();
      expect(Math.max(...got.flatMap((row, i) => row.map((v, j) => Math.abs(v - expected[i]![j]!))))).toBeLessThan(1e-4);
    }
    pixels.dispose();
    model.dispose();
  });
});

describe('top fine-tuning', () => {
  it('computes activations once, then reads them from the cache; a damaged file is computed again', async () => {
    const { features } = await prepare({ root, backbone: spec.id, seed: 1, validFraction: 0.25 }, ctx);
    const options = { cut: 'conv_pw_12_relu', shape: [7, 7, 256] as [number, number, number] };
    const first = await withBackend('inference', () => computeActivations(features, options));
    const photos = features.train.labels.length + 2 * (features.valid.labels.length + features.test.labels.length);
    expect(first.stats).toMatchObject({ cached: 0, computed: photos });
    const again = await withBackend('inference', () => computeActivations(features, options));
    expect(again.stats).toMatchObject({ cached: photos, computed: 0 });
    expect(Array.from(again.valid.data)).toEqual(Array.from(first.valid.data));
    // Cut one file short: it no longer passes the length check, so it is a miss, not garbage.
    const dir = createActivationCache().dir;
    const shard = fs.readdirSync(dir)[0]!;
    const file = path.join(dir, shard, fs.readdirSync(path.join(dir, shard))[0]!);
    fs.truncateSync(file, 100);
    const repaired = await withBackend('inference', () => computeActivations(features, options));
    expect(repaired.stats).toMatchObject({ cached: photos - 1, computed: 1 });
  });

  it('trains without piling up tensors, and keeps the tuned top only when it beat the head alone', async () => {
    await switchBackend('head');
    const { features, set } = await prepare({ root, backbone: spec.id, seed: 1, validFraction: 0.25 }, ctx);
    const trained = await trainHead(set, { lr: 0.01, epochs: 3, seed: 1, labelSmoothing: 0, tta: true, onEpoch: () => undefined }, ctx);
    const headLoss = trained.epochs.find((e) => e.epoch === trained.bestEpoch)!.validLoss;
    const tensors: number[] = [];
    const step = await fineTuneTop(
      { spec, features, trained, seed: 1, labelSmoothing: 0, tta: true, recipe: { epochs: 4, batchSize: 4 }, onEpoch: () => tensors.push(tf.memory().numTensors) },
      ctx,
    );
    expect(step.epochs.map((e) => e.epoch)).toEqual([4, 5, 6, 7]);
    expect(step.epochs.every((e) => e.stage === 'fine-tune')).toBe(true);
    expect(new Set(tensors.slice(1)).size).toBe(1); // the first epoch creates the optimizers' moments
    expect(step.cut).toBe('conv_pw_12_relu');
    expect(step.photosPerSecond).toBeGreaterThan(0);
    const best = Math.min(...step.epochs.map((e) => e.validLoss));
    expect(step.tuned !== null).toBe(best < headLoss);
    expect(step.warnings.length > 0).toBe(best >= headLoss);
    step.tuned?.dispose();
    trained.head.dispose();
  });
});

describe('what a top recipe trains', () => {
  /** Trains the tiny top two epochs on random activations with `recipe`; returns which weights moved. */
  async function moved(recipe: Partial<TopRecipe>) {
    await switchBackend(TOP_NEED);
    const model = await loadFeatureModel(spec.id);
    const top = topOfBackbone(model, 'conv_pw_12_relu');
    const weights = [...top.variables, ...top.statistics];
    const before = weights.map((v) => v.dataSync().slice());
    const random = createRandom(3);
    const rows = (n: number) => ({ data: Float32Array.from({ length: n * 7 * 7 * 256 }, () => random.next() * 2), labels: Int32Array.from({ length: n }, (_, i) => i % 2), images: [] });
    const head = createHead({ ...TRAIN_DEFAULTS.head, inputDim: 256, classes: 2 }, random);
    const trained = { head, lr: 0.01, epochs: [], bestEpoch: 0, warnings: [] };
    const momentum = (top.batchNorms[0] as unknown as { momentum: number }).momentum;
    await trainTop(top, { train: rows(8), valid: rows(4), validFlip: null }, { trained, classes: 2, dim: 256, seed: 1, labelSmoothing: 0, tta: false, recipe: { ...TRAIN_DEFAULTS.top, epochs: 2, batchSize: 4, ...recipe }, onEpoch: () => undefined }, ctx);
    const changed = new Set(weights.filter((v, i) => v.dataSync().some((x, j) => x !== before[i]![j]))// A model loaded again names its variables with a suffix (kernel_1).
      .map((v) => v.name.replace(/_\d+$/, '')));
    const momentumAfter = (top.batchNorms[0] as unknown as { momentum: number }).momentum;
    head.dispose();
    model.dispose();
    return { changed, momentum, momentumAfter };
  }

  it('trains every layer above the cut with frozen statistics by default', async () => {
    const { changed } = await moved({});
    expect(changed).toContain('conv_dw_13/depthwise_kernel');
    expect(changed).toContain('conv_pw_13/kernel');
    expect([...changed].some((name) => /moving/.test(name))).toBe(false);
  });

  it('trains only the layers from trainFrom on, or only the batch norms', async () => {
    const from = await moved({ trainFrom: 'conv_pw_13' });
    expect(from.changed).not.toContain('conv_dw_13/depthwise_kernel');
    expect(from.changed).not.toContain('conv_dw_13_bn/gamma');
    expect(from.changed).toContain('conv_pw_13/kernel');
    expect(from.changed).toContain('conv_pw_13_bn/gamma');
    const norms = await moved({ normsOnly: true });
    expect([...norms.changed].filter((name) => /kernel/.test(name))).toEqual([]);
    expect(norms.changed).toContain('conv_dw_13_bn/gamma');
    await expect(moved({ trainFrom: 'no_such_layer' })).rejects.toThrow(/no layer named no_such_layer/);
  });

  it('moves the batch-norm statistics only when given a momentum, and puts the layers’ own momentum back', async () => {
    const updated = await moved({ batchNormMomentum: 0.9 });
    expect(updated.changed).toContain('conv_pw_13_bn/moving_mean');
    expect(updated.changed).toContain('conv_dw_13_bn/moving_variance');
    expect(updated.momentumAfter).toBe(updated.momentum);
  });
});
