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
import { makePhotos } from '../photos.test-helpers';
import { topOfBackbone } from '../top-of-backbone';
import { trainHead } from './head';
import { prepare } from './prepare';
import { fineTuneTop } from './fine-tune-top';

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
