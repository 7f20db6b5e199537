import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureModel } from '../backbones/load';
import { optimizedArtifacts } from './tfjs-optimize';
import { switchBackend } from '../compute';
import { loadLayersModelFromDir, writeArtifactsToDir } from './tfjs-io';

let tmp: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-tfjs-optimize-'));
  await switchBackend('inference'); // wasm: the pure-JS backend takes ~20 s for the backbone here
});
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Layer class names anywhere in a saved topology (nested models included). */
function classNames(topology: unknown): string[] {
  const out: string[] = [];
  const walk = (layers: { class_name: string; config: { layers?: unknown } }[]) => {
    for (const l of layers) {
      out.push(l.class_name);
      if (Array.isArray(l.config.layers)) walk(l.config.layers as never);
    }
  };
  walk((topology as { config: { layers: never } }).config.layers);
  return out;
}

/** Optimizes, writes, and reloads through stock tf.loadLayersModel: what an app would load. */
async function roundTrip(model: tf.LayersModel, name: string) {
  const optimized = await optimizedArtifacts(model);
  const dir = path.join(tmp, name);
  await writeArtifactsToDir(optimized.artifacts, dir);
  return { ...optimized, reloaded: await loadLayersModelFromDir(dir) };
}

async function maxDiff(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): Promise<{ diff: number; scale: number }> {
  const [ya, yb] = [a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor];
  const diff = (await tf.max(tf.abs(tf.sub(ya, yb))).data())[0]!;
  const scale = (await tf.max(tf.abs(ya)).data())[0]!;
  tf.dispose([ya, yb]);
  return { diff, scale };
}

describe('optimizedArtifacts', () => {
  it('folds every batch norm and padding of the default backbone, and it still computes the same features', async () => {
    const features = await loadFeatureModel('mobilenet_v2_035');
    const before = classNames(features.toJSON(null, false));
    const { folded, artifacts, reloaded } = await roundTrip(features, 'mobilenet');
    expect(folded).toEqual({ batchNorms: 52, paddings: 5 });
    const names = classNames(artifacts.modelTopology);
    expect(names).not.toContain('BatchNormalization');
    expect(names).not.toContain('ZeroPadding2D');
    expect(before.length - names.length).toBe(52 + 5);
    expect(artifacts.weightSpecs.some((w) => w.name.includes('moving_mean'))).toBe(false);

    const x = tf.randomUniform([2, 224, 224, 3], 0, 255, 'float32', 3);
    const { diff, scale } = await maxDiff(features, reloaded, x);
    expect(scale).toBeGreaterThan(0.1);
    expect(diff / scale).toBeLessThan(1e-5);
    x.dispose();
    features.dispose();
    reloaded.dispose();
  });

  it('folds into depthwise convolutions with a multiplier and an own bias, and batch norms without scale', async () => {
    const input = tf.input({ shape: [9, 9, 3] });
    let h = tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'pad' }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, useBias: true, biasInitializer: 'randomNormal', name: 'dw' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ scale: false, name: 'dw_bn', movingMeanInitializer: 'randomNormal', movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2 }) }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, name: 'conv' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ name: 'conv_bn', gammaInitializer: 'randomNormal', betaInitializer: 'randomNormal', movingMeanInitializer: 'randomNormal' }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    const { folded, reloaded } = await roundTrip(model, 'depthwise');
    // 'pad' (1,1) on 9 pixels with a 3x3 stride-1 kernel is what 'same' does; both batch norms fold.
    expect(folded).toEqual({ batchNorms: 2, paddings: 1 });
    const x = tf.randomNormal([3, 9, 9, 3], 0, 1, 'float32', 5);
    const { diff, scale } = await maxDiff(model, reloaded, x);
    expect(diff / scale).toBeLessThan(1e-5);
    tf.dispose([x]);
    model.dispose();
    reloaded.dispose();
  });

  it('leaves layers alone where folding would change the answer', async () => {
    const input = tf.input({ shape: [8, 8, 2] });
    // Padding that 'same' would not do (2 on one side only), a convolution read twice, and one with an activation.
    const padded = tf.layers.zeroPadding2d({ padding: [[2, 0], [0, 0]], name: 'odd_pad' }).apply(input) as tf.SymbolicTensor;
    const shared = tf.layers.conv2d({ filters: 3, kernelSize: 3, name: 'shared' }).apply(padded) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'shared_bn', movingMeanInitializer: 'randomNormal' }).apply(shared) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'sum' }).apply([shared, bn]) as tf.SymbolicTensor;
    const relu = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu', name: 'relu_conv' }).apply(sum) as tf.SymbolicTensor;
    const out = tf.layers.batchNormalization({ name: 'relu_bn', movingMeanInitializer: 'randomNormal' }).apply(relu) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const { folded, artifacts, reloaded } = await roundTrip(model, 'unfoldable');
    expect(folded).toEqual({ batchNorms: 0, paddings: 0 });
    expect(classNames(artifacts.modelTopology).filter((c) => c === 'BatchNormalization' || c === 'ZeroPadding2D')).toHaveLength(3);
    const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 9);
    const { diff } = await maxDiff(model, reloaded, x);
    expect(diff).toBe(0);
    tf.dispose([x]);
    model.dispose();
    reloaded.dispose();
  });
});
