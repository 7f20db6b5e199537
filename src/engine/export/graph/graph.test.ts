import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureModel } from '../../backbones/load';
import { switchBackend } from '../../compute';
import { dirLoader, writeArtifactsToDir } from '../tfjs-io';
import { graphFromModel, type ExportGraph } from './index';
import { graphToGraphModel } from './tfjs-graph';

let tmp: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-graph-'));
  await switchBackend('inference'); // wasm: the pure-JS backend takes ~20 s for the backbone here
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ops = (g: ExportGraph) => g.nodes.map((n) => n.op);

/** Writes the graph as a TF.js graph model and reloads it through stock tf.loadGraphModel: what an app would load. */
async function tfjsRoundTrip(graph: ExportGraph, name: string): Promise<tf.GraphModel> {
  await writeArtifactsToDir(graphToGraphModel(graph), path.join(tmp, name));
  return tf.loadGraphModel(dirLoader(path.join(tmp, name)));
}

async function maxDiff(a: tf.LayersModel, b: tf.GraphModel, x: tf.Tensor): Promise<{ diff: number; scale: number }> {
  const [ya, yb] = [a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor];
  const diff = (await tf.max(tf.abs(tf.sub(ya, yb))).data())[0]!;
  const scale = (await tf.max(tf.abs(ya)).data())[0]!;
  tf.dispose([ya, yb]);
  return { diff, scale };
}

describe('the export graph', () => {
  it('folds every batch norm, padding and relu6 of the default backbone once, and its TF.js form computes the same features', async () => {
    const features = await loadFeatureModel('mobilenet_v2_035');
    const { graph, folded } = graphFromModel(features);
    expect(folded).toEqual({ batchNorms: 52, paddings: 5, activations: 35 });
    expect(ops(graph)).not.toContain('affine');
    expect(ops(graph)).not.toContain('pad');
    expect(ops(graph).filter((o) => o === 'conv2d' || o === 'depthwiseConv2d')).toHaveLength(52);
    expect(graph.preprocessing).toEqual({ scale: Math.fround(1 / 127.5), offset: -1 });

    const reloaded = await tfjsRoundTrip(graph, 'mobilenet');
    const x = tf.randomUniform([2, 224, 224, 3], 0, 255, 'float32', 3);
    const { diff, scale } = await maxDiff(features, reloaded, x);
    expect(scale).toBeGreaterThan(0.1);
    expect(diff / scale).toBeLessThan(1e-5);
    const written = JSON.parse(fs.readFileSync(path.join(tmp, 'mobilenet', 'model.json'), 'utf8')) as { weightsManifest: { weights: { name: string }[] }[] };
    expect(written.weightsManifest[0]!.weights.some((w) => w.name.includes('moving_mean'))).toBe(false);
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
    const { graph, folded } = graphFromModel(model);
    expect(folded).toEqual({ batchNorms: 2, paddings: 1, activations: 0 });
    expect(ops(graph)).toEqual(['input', 'depthwiseConv2d', 'conv2d']);
    const reloaded = await tfjsRoundTrip(graph, 'depthwise');
    const x = tf.randomNormal([3, 9, 9, 3], 0, 1, 'float32', 5);
    const { diff, scale } = await maxDiff(model, reloaded, x);
    expect(diff / scale).toBeLessThan(1e-5);
    tf.dispose([x]);
    model.dispose();
    reloaded.dispose();
  });

  it('leaves layers alone where folding would change the answer, and still writes them exactly', async () => {
    const input = tf.input({ shape: [8, 8, 2] });
    // Padding that 'same' would not do (2 on one side only), a convolution read twice, and one with an activation.
    const padded = tf.layers.zeroPadding2d({ padding: [[2, 0], [0, 0]], name: 'odd_pad' }).apply(input) as tf.SymbolicTensor;
    const shared = tf.layers.conv2d({ filters: 3, kernelSize: 3, name: 'shared' }).apply(padded) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'shared_bn', movingMeanInitializer: 'randomNormal' }).apply(shared) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'sum' }).apply([shared, bn]) as tf.SymbolicTensor;
    const relu = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu', name: 'relu_conv' }).apply(sum) as tf.SymbolicTensor;
    const out = tf.layers.batchNormalization({ name: 'relu_bn', movingMeanInitializer: 'randomNormal' }).apply(relu) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const { graph, folded } = graphFromModel(model);
    // The odd padding folds into the convolution's own pads (TF.js: explicit paddings); nothing else folds
    // but the relu, which joins its convolution.
    expect(folded).toEqual({ batchNorms: 0, paddings: 1, activations: 1 });
    expect(ops(graph).filter((o) => o === 'affine')).toHaveLength(2);
    const reloaded = await tfjsRoundTrip(graph, 'unfoldable');
    const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 9);
    const { diff, scale } = await maxDiff(model, reloaded, x);
    expect(diff / scale).toBeLessThan(1e-6);
    tf.dispose([x]);
    model.dispose();
    reloaded.dispose();
  });

  it('writes activations that TF.js has no op for, and averages, as ops that compute them', async () => {
    const input = tf.input({ shape: [6] });
    const branches = (['swish', 'softsign', 'hardSigmoid', 'selu', 'elu', 'softplus'] as const).map((activation, i) =>
      tf.layers.dense({ units: 4, activation, kernelInitializer: tf.initializers.randomNormal({ seed: 21 }), name: i === 0 ? 'pixels' : activation }).apply(input) as tf.SymbolicTensor,
    );
    const leaky = tf.layers.leakyReLU({ alpha: 0.1, name: 'leaky' }).apply(branches[0]!) as tf.SymbolicTensor;
    // Named like the model's input and output: the written ops must still keep those names for them.
    const mean = tf.layers.average({ name: 'probabilities' }).apply([leaky, ...branches.slice(1)]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: mean });
    const { graph } = graphFromModel(model);
    expect(ops(graph)).toContain('mean');
    const reloaded = await tfjsRoundTrip(graph, 'activations');
    expect(reloaded.inputs.map((i) => i.name)).toEqual(['pixels']);
    expect(reloaded.outputs.map((o) => o.name)).toEqual(['probabilities']);
    const x = tf.randomNormal([5, 6], 0, 3, 'float32', 22);
    const { diff, scale } = await maxDiff(model, reloaded, x);
    expect(scale).toBeGreaterThan(0.1);
    expect(diff / scale).toBeLessThan(1e-5);
    tf.dispose([x]);
    model.dispose();
    reloaded.dispose();
  });

  it('writes the mirror average as a model whose answer is the mean over the photo and its mirror', async () => {
    const input = tf.input({ shape: [4, 5, 3] });
    const y = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.randomNormal({ seed: 11 }) }).apply(input) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
    const probs = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 12 }) }).apply(pooled) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: probs });
    const { graph } = graphFromModel(model);
    const reloaded = await tfjsRoundTrip({ ...graph, mirrorAverage: true }, 'mirror');
    const x = tf.randomNormal([2, 4, 5, 3], 0, 1, 'float32', 13);
    const expected = tf.tidy(() => tf.div(tf.add(model.predict(x) as tf.Tensor, model.predict(tf.reverse(x, 2)) as tf.Tensor), 2));
    const actual = reloaded.predict(x) as tf.Tensor;
    expect((await tf.max(tf.abs(tf.sub(actual, expected))).data())[0]).toBeLessThan(1e-6);
    tf.dispose([x, expected, actual]);
    model.dispose();
    reloaded.dispose();
  });
});
