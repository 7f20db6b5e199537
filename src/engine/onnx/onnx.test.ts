import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLayersModelFromDir } from '../export/tfjs-io';
import { sharedDir } from '../paths';
import { layersModelToOnnx, UnsupportedLayerError } from './index';

const weights = (name: string) => path.join(sharedDir(), 'weights', name);

function randomPixels(n: number, size: number, seed: number, perImage = size * size * 3): Float32Array {
  const px = new Float32Array(n * perImage);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    px[i] = s % 256;
  }
  return px;
}

async function runOnnx(bytes: Uint8Array, input: Float32Array, dims: number[], inputName = 'pixels'): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ [inputName]: new ort.Tensor('float32', input, dims) });
  const t = out[session.outputNames[0]!]!;
  return { data: t.data as Float32Array, dims: t.dims };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function opTypes(bytes: Uint8Array): string[] {
  return onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!);
}

const preprocessing = { scale: 1 / 127.5, offset: -1 };
const tfjsWithPreprocessing = (model: tf.LayersModel, px: Float32Array, n: number) =>
  tf.tidy(() => (model.predict(tf.tensor4d(px, [n, 224, 224, 3]).mul(preprocessing.scale).add(preprocessing.offset)) as tf.Tensor).dataSync());

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('layersModelToOnnx on the real backbones', () => {
  it('MobileNetV2 0.35 features match tfjs, with batch norm folded and preprocessing inside', async () => {
    const model = await loadLayersModelFromDir(weights('mobilenet_v2_035_224_notop'));
    const bytes = layersModelToOnnx(model, { preprocessing, outputName: 'features' });
    const ops = opTypes(bytes);
    expect(ops).not.toContain('BatchNormalization');
    // 52 conv + batch-norm pairs become 52 Conv nodes; the 5 zero paddings merge into their convs.
    expect(ops.filter((o) => o === 'Conv')).toHaveLength(52);
    expect(ops).not.toContain('Pad');

    const px = randomPixels(2, 224, 1);
    const onnxOut = await runOnnx(bytes, px, [2, 224, 224, 3]);
    expect(onnxOut.dims).toEqual([2, 1280]);
    const ref = tfjsWithPreprocessing(model, px, 2);
    expect(maxAbsDiff(onnxOut.data, ref)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('MobileNet v1 0.25 with its ImageNet head (reshape, biased 1x1 conv, softmax over channels) matches tfjs', async () => {
    const model = await loadLayersModelFromDir(weights('mobilenet_v1_025_224'));
    const bytes = layersModelToOnnx(model, { preprocessing, outputName: 'probabilities' });
    const px = randomPixels(2, 224, 2);
    const onnxOut = await runOnnx(bytes, px, [2, 224, 224, 3]);
    expect(onnxOut.dims).toEqual([2, 1000]);
    const ref = tfjsWithPreprocessing(model, px, 2);
    expect(maxAbsDiff(onnxOut.data, ref)).toBeLessThan(1e-5);
    // Same top class for both images.
    for (let i = 0; i < 2; i++) {
      const row = (a: ArrayLike<number>) => Array.from(a).slice(i * 1000, (i + 1) * 1000);
      const argmax = (r: number[]) => r.indexOf(Math.max(...r));
      expect(argmax(row(onnxOut.data))).toBe(argmax(row(ref)));
    }
    model.dispose();
  });

  it('MobileNet v1 0.25 cut at conv_pw_13_relu + pooling, with a softmax head on top, matches tfjs', async () => {
    const full = await loadLayersModelFromDir(weights('mobilenet_v1_025_224'));
    const pooled = tf.layers.globalAveragePooling2d({}).apply(full.getLayer('conv_pw_13_relu').output) as tf.SymbolicTensor;
    const features = tf.model({ inputs: full.inputs, outputs: pooled });
    const head = tf.sequential({
      layers: [tf.layers.dropout({ inputShape: [256], rate: 0.2 }), tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) })],
    });
    const combined = tf.model({ inputs: features.inputs, outputs: head.apply(features.outputs[0]!) as tf.SymbolicTensor });
    const bytes = layersModelToOnnx(combined, { preprocessing, outputName: 'probabilities' });
    const px = randomPixels(3, 224, 3);
    const onnxOut = await runOnnx(bytes, px, [3, 224, 224, 3]);
    expect(onnxOut.dims).toEqual([3, 3]);
    expect(maxAbsDiff(onnxOut.data, tfjsWithPreprocessing(combined, px, 3))).toBeLessThan(1e-5);
    full.dispose();
  });
});

describe('layersModelToOnnx on small graphs', () => {
  it('handles pooling, concatenation, standalone batch norm, explicit padding, flatten and dense heads', async () => {
    const seed = (s: number) => tf.initializers.randomNormal({ seed: s, stddev: 0.5 });
    const input = tf.input({ shape: [9, 9, 3] });
    const scaled = tf.layers.rescaling({ scale: 1 / 255, offset: 0.1 }).apply(input) as tf.SymbolicTensor;
    const padded = tf.layers.zeroPadding2d({ padding: [[1, 2], [0, 1]] }).apply(scaled) as tf.SymbolicTensor;
    const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: seed(1), biasInitializer: seed(2) }).apply(padded) as tf.SymbolicTensor;
    const b = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(padded) as tf.SymbolicTensor;
    const c = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(padded) as tf.SymbolicTensor;
    const joined = tf.layers.concatenate({ axis: -1 }).apply([a, b, c]) as tf.SymbolicTensor;
    const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'valid', depthwiseInitializer: seed(3) }).apply(joined) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ betaInitializer: seed(4), gammaInitializer: seed(5), movingMeanInitializer: seed(6), movingVarianceInitializer: 'ones' }).apply(
      tf.layers.leakyReLU({ alpha: 0.1 }).apply(dw) as tf.SymbolicTensor,
    ) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(bn) as tf.SymbolicTensor;
    const hidden = tf.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: seed(7) }).apply(flat) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: seed(8) }).apply(hidden) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });

    const px = randomPixels(4, 9, 4);
    const bytes = layersModelToOnnx(model, { outputName: 'probabilities' });
    expect(opTypes(bytes)).toContain('Pad'); // shared by three consumers, so it cannot merge into one conv
    const onnxOut = await runOnnx(bytes, px, [4, 9, 9, 3]);
    const ref = tf.tidy(() => (model.predict(tf.tensor4d(px, [4, 9, 9, 3])) as tf.Tensor).dataSync());
    expect(onnxOut.dims).toEqual([4, 4]);
    expect(maxAbsDiff(onnxOut.data, ref)).toBeLessThan(1e-6);
  });

  it('keeps image-shaped outputs in NHWC like the TF.js model', async () => {
    const input = tf.input({ shape: [6, 5, 2] });
    const y = tf.layers.conv2d({ filters: 3, kernelSize: [3, 2], dilationRate: 2, padding: 'same', kernelInitializer: tf.initializers.randomNormal({ seed: 9 }) }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.reshape({ targetShape: [10, 3, 3] }).apply(tf.layers.activation({ activation: 'relu6' }).apply(y) as tf.SymbolicTensor) as tf.SymbolicTensor });
    const px = randomPixels(2, 0, 5, 6 * 5 * 2);
    const onnxOut = await runOnnx(layersModelToOnnx(model), px, [2, 6, 5, 2]);
    expect(onnxOut.dims).toEqual([2, 10, 3, 3]);
    const ref = tf.tidy(() => (model.predict(tf.tensor4d(px, [2, 6, 5, 2])) as tf.Tensor).dataSync());
    expect(maxAbsDiff(onnxOut.data, ref)).toBeLessThan(1e-4);
  });

  it('handles a horizontal flip built from Permute + Dense, a model applied twice, and Average (test-time augmentation)', async () => {
    const w = 5;
    const input = tf.input({ shape: [4, w, 3] });
    const flipKernel = tf.tidy(() => tf.reverse(tf.eye(w), 1));
    const flipDense = tf.layers.dense({ units: w, useBias: false, weights: [flipKernel] });
    const flipped = tf.layers.permute({ dims: [1, 3, 2] }).apply(flipDense.apply(tf.layers.permute({ dims: [1, 3, 2] }).apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const inner = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [4, w, 3], filters: 2, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.randomNormal({ seed: 11 }) }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 12 }) }),
      ],
    });
    const avg = tf.layers.average().apply([inner.apply(input) as tf.SymbolicTensor, inner.apply(flipped) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: avg });
    const px = randomPixels(2, 0, 13, 4 * w * 3);
    const ref = tf.tidy(() => (model.predict(tf.tensor4d(px, [2, 4, w, 3])) as tf.Tensor).dataSync());
    // The flip really flips: the same as averaging the model on the input and on tf.reverse of it.
    const manual = tf.tidy(() => {
      const x = tf.tensor4d(px, [2, 4, w, 3]);
      return tf.div(tf.add(inner.predict(x) as tf.Tensor, inner.predict(tf.reverse(x, 2)) as tf.Tensor), 2).dataSync();
    });
    expect(maxAbsDiff(ref, manual)).toBeLessThan(1e-6);
    const onnxOut = await runOnnx(layersModelToOnnx(model), px, [2, 4, w, 3]);
    expect(maxAbsDiff(onnxOut.data, ref)).toBeLessThan(1e-6);
    flipKernel.dispose();
  });

  it('names the layer it cannot write', () => {
    const input = tf.input({ shape: [4, 3] });
    const model = tf.model({ inputs: input, outputs: tf.layers.lstm({ units: 2 }).apply(input) as tf.SymbolicTensor });
    expect(() => layersModelToOnnx(model)).toThrow(UnsupportedLayerError);
    expect(() => layersModelToOnnx(model)).toThrow(/lstm.*LSTM/);
  });

  it('writes a model file onnxruntime accepts with the requested names and metadata', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: 'softmax' })] });
    const bytes = layersModelToOnnx(model, { inputName: 'features', outputName: 'probabilities', metadata: { labels: '["ants","bees"]' } });
    const proto = onnx.ModelProto.decode(bytes);
    expect(Number(proto.opsetImport[0]!.version)).toBe(13);
    expect(proto.metadataProps.find((p) => p.key === 'labels')?.value).toBe('["ants","bees"]');
    const tmp = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'onnx-'));
    fs.writeFileSync(path.join(tmp, 'm.onnx'), bytes);
    const session = await ort.InferenceSession.create(path.join(tmp, 'm.onnx'));
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['probabilities']);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});
