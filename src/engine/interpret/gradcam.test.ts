import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { classScores, gradCam, type CamModel } from './gradcam';
import { blendHeatmap, overlayPng, turbo, upsampleCam } from './overlay';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A 4x4x2 "conv" output passed straight through, pooled, then a linear softmax head with known weights. */
function tinyModel(kernel: number[][], bias = [0, 0]): CamModel {
  const input = tf.input({ shape: [4, 4, 2] });
  const toConv = tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'linear' }).apply(input) as tf.SymbolicTensor });
  const head = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2], activation: 'softmax' })] });
  head.layers[0]!.setWeights([tf.tensor2d(kernel), tf.tensor1d(bias)]);
  return { toConv, fromConv: (a) => tf.mean(a, [1, 2]) as tf.Tensor2D, head };
}

/** Channel 0 is 1 in the top-left 2x2 quadrant and 0 elsewhere; channel 1 is 0.5 everywhere. */
function quadrantImage(): tf.Tensor4D {
  const values: number[] = [];
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) values.push(y < 2 && x < 2 ? 1 : 0, 0.5);
  return tf.tensor4d(values, [1, 4, 4, 2]);
}

const topLeft = [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

describe('gradCam', () => {
  // logit_0 = f0 - f1, logit_1 = -f0 + f1, so the channel weights are +-1/16 and
  // cam_0 ∝ relu(A0 - A1): 0.5 in the top-left quadrant, 0 elsewhere; cam_1 ∝ relu(A1 - A0): the reverse.
  const model = tinyModel([
    [1, -1],
    [-1, 1],
  ]);

  it('matches the hand-computed map for each class', async () => {
    const input = quadrantImage();
    const forClass0 = await gradCam(model, input, 0);
    expect(forClass0.height).toBe(4);
    expect(forClass0.width).toBe(4);
    expect(Array.from(forClass0.cam)).toEqual(topLeft);
    const forClass1 = await gradCam(model, input, 1);
    expect(Array.from(forClass1.cam)).toEqual(topLeft.map((v) => 1 - v));
    expect(forClass0.scoreKind).toBe('logit');
    input.dispose();
  });

  it('explains the predicted class by default and reports the probabilities', async () => {
    const input = quadrantImage();
    // f0 = 0.25, f1 = 0.5: class 1 wins with softmax(-0.25, 0.25).
    const result = await gradCam(model, input);
    expect(result.classIndex).toBe(1);
    expect(result.probabilities[1]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 5);
    input.dispose();
  });

  it('returns an all-zero map when nothing in the image points to the class', async () => {
    const input = tf.fill([1, 4, 4, 2], 0.5) as tf.Tensor4D;
    expect(Array.from((await gradCam(model, input, 0)).cam).every((v) => v === 0)).toBe(true);
    input.dispose();
  });

  it('rejects a class index the model does not have', async () => {
    const input = quadrantImage();
    await expect(gradCam(model, input, 2)).rejects.toThrow(/out of range/);
    input.dispose();
  });

  it('leaves no tensors behind, the rejected class index included', async () => {
    const input = quadrantImage();
    await gradCam(model, input, 0); // first call may create lasting weights
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await gradCam(model, input, i % 2);
    await expect(gradCam(model, input, 2)).rejects.toThrow(/out of range/);
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
  });
});

describe('classScores', () => {
  const features = tf.tensor2d([
    [0.5, -1, 2],
    [1, 0, 0],
  ]);

  it('steps around a Dense softmax, after hidden layers, to the logits', () => {
    const head = tf.sequential({
      layers: [tf.layers.dense({ units: 4, inputShape: [3], activation: 'relu' }), tf.layers.dense({ units: 2, activation: 'softmax' })],
    });
    const { kind, scores } = classScores(head);
    expect(kind).toBe('logit');
    const hidden = head.layers[0]!.apply(features) as tf.Tensor2D;
    const [kernel, bias] = head.layers[1]!.getWeights();
    const expected = tf.add(tf.matMul(hidden, kernel as tf.Tensor2D), bias!);
    expect(Array.from(scores(features).dataSync())).toEqual(Array.from(expected.dataSync()).map((v) => expect.closeTo(v, 5)));
    // Softmax of the logits gives back the head's own output.
    const probabilities = head.predict(features) as tf.Tensor;
    expect(Array.from(tf.softmax(scores(features)).dataSync())).toEqual(Array.from(probabilities.dataSync()).map((v) => expect.closeTo(v, 5)));
  });

  it('uses the input of a final Activation(softmax) layer as logits', () => {
    const head = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] }), tf.layers.activation({ activation: 'softmax' })] });
    const { kind, scores } = classScores(head);
    expect(kind).toBe('logit');
    const logits = head.layers[0]!.apply(features) as tf.Tensor;
    expect(Array.from(scores(features).dataSync())).toEqual(Array.from(logits.dataSync()));
  });

  it('falls back to log-probabilities for a head it cannot step around', () => {
    const head = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], activation: 'sigmoid' })] });
    const { kind, scores } = classScores(head);
    expect(kind).toBe('log-probability');
    const probabilities = (head.predict(features) as tf.Tensor).dataSync();
    expect(Array.from(scores(features).dataSync())).toEqual(Array.from(probabilities).map((p) => expect.closeTo(Math.log(p), 4)));
  });
});

describe('overlay', () => {
  it('upsamples a cell to the region it covers', async () => {
    const up = await upsampleCam(Float32Array.from([1, 0, 0, 0]), 2, 2, 8);
    const quadrantMean = (y0: number, x0: number) => {
      let sum = 0;
      for (let y = y0; y < y0 + 4; y++) for (let x = x0; x < x0 + 4; x++) sum += up[y * 8 + x]!;
      return sum / 16;
    };
    expect(up[0]).toBeCloseTo(1);
    expect(up[63]).toBeCloseTo(0);
    expect(quadrantMean(0, 0)).toBeGreaterThan(0.6);
    expect(quadrantMean(4, 4)).toBeLessThan(0.1);
  });

  it('colours cold blue and hot red', () => {
    // Turbo starts and ends near black, so test just inside the ends.
    const [r0, , b0] = turbo(0.15);
    const [r1, , b1] = turbo(0.9);
    expect(b0).toBeGreaterThan(r0);
    expect(r1).toBeGreaterThan(b1);
  });

  it('tints hot pixels more than cold ones and writes a PNG of the photo size', async () => {
    const grey = new Uint8Array(2 * 3).fill(128);
    const out = blendHeatmap(grey, Float32Array.from([0, 1]));
    const shift = (i: number) => Math.abs(out[3 * i]! - 128) + Math.abs(out[3 * i + 1]! - 128) + Math.abs(out[3 * i + 2]! - 128);
    expect(shift(1)).toBeGreaterThan(shift(0));
    // Opacity proportional to the heat: where the model did not look, the photo is untouched.
    expect(Array.from(out.subarray(0, 3))).toEqual([128, 128, 128]);
    const half = blendHeatmap(grey, Float32Array.from([0.5, 1]));
    expect(shift(1)).toBeGreaterThan(0);
    const halfShift = Math.abs(half[0]! - 128) + Math.abs(half[1]! - 128) + Math.abs(half[2]! - 128);
    expect(halfShift).toBeGreaterThan(0);
    expect(halfShift).toBeLessThan(shift(1));
    const png = await overlayPng(new Uint8Array(16 * 16 * 3).fill(200), 16, Float32Array.from([0, 1, 0, 0]), 2, 2);
    const meta = await sharp(png).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 16, height: 16 });
  });
});

describe('gradCam on the wasm backend', () => {
  it('gives the same map as on cpu (the engine runs it on wasm when tfjs-node is absent)', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const model = tinyModel([
      [0.7, -1.2],
      [-0.3, 0.9],
    ]);
    const input = quadrantImage();
    const onCpu = await gradCam(model, input, 0);
    expect(await tf.setBackend('wasm')).toBe(true);
    try {
      const onWasm = await gradCam(model, input, 0);
      expect(Array.from(onWasm.cam)).toEqual(Array.from(onCpu.cam).map((v) => expect.closeTo(v, 5)));
      expect(onWasm.cam.some((v) => v > 0)).toBe(true);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
