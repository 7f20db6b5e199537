import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { AdamW } from './adamw';
import { classWeights, headLoss } from './batches';
import { bestEpochOf, overfittingEpochs } from './fit';
import { minimum, steep, valley } from './lr-finder';
import { createRandom } from './random';
import { oneCycle } from './schedule';

describe('one-cycle schedule', () => {
  const lr = oneCycle({ maxLr: 0.01, totalSteps: 100 });
  it('warms up from maxLr/25 to maxLr over the first quarter, then decays to almost nothing', () => {
    expect(lr(0)).toBeCloseTo(0.01 / 25, 8);
    expect(lr(25)).toBeCloseTo(0.01, 8);
    expect(lr(99)).toBeLessThan(1e-5);
    for (let s = 1; s <= 25; s++) expect(lr(s)).toBeGreaterThan(lr(s - 1));
    for (let s = 26; s < 100; s++) expect(lr(s)).toBeLessThan(lr(s - 1));
  });
});

describe('AdamW', () => {
  it('decays weights (not biases) by lr*wd per step, apart from the Adam update', () => {
    const kernel = tf.variable(tf.tensor1d([1, 2]), true, 'adamw_test/kernel');
    const bias = tf.variable(tf.tensor1d([1, 2]), true, 'adamw_test/bias');
    const optimizer = new AdamW(0.1, 0.5);
    // Zero gradient: plain Adam would not move anything.
    optimizer.minimize(() => tf.sum(tf.mul(tf.add(kernel, bias), 0)) as tf.Scalar, false, [kernel, bias]);
    expect(Array.from(kernel.dataSync())).toEqual([expect.closeTo(0.95, 6), expect.closeTo(1.9, 6)]);
    expect(Array.from(bias.dataSync())).toEqual([1, 2]);
    optimizer.setLearningRate(0.2);
    optimizer.minimize(() => tf.sum(tf.mul(kernel, 0)) as tf.Scalar, false, [kernel]);
    expect(kernel.dataSync()[0]).toBeCloseTo(0.95 * 0.9, 6);
    optimizer.dispose();
    kernel.dispose();
    bias.dispose();
  });
});

describe('loss', () => {
  it('is log(classes) for uniform logits, and smoothing and weights change it as expected', () => {
    const logits = tf.tensor2d([[0, 0, 0], [5, 0, 0]]);
    const uniform = headLoss(tf.zeros([1, 3]) as tf.Tensor2D, Int32Array.of(2));
    expect(uniform.dataSync()[0]).toBeCloseTo(Math.log(3), 5);
    const plain = headLoss(logits, Int32Array.of(0, 0)).dataSync()[0]!;
    const smoothed = headLoss(logits, Int32Array.of(0, 0), { smoothing: 0.2 }).dataSync()[0]!;
    expect(smoothed).toBeGreaterThan(plain); // a confident right answer is penalised a little
    // Weighting class 1 heavily pulls the mean towards that row's (higher) loss.
    const weighted = headLoss(logits, Int32Array.of(0, 1), { weights: Float32Array.of(1, 9) }).dataSync()[0]!;
    const unweighted = headLoss(logits, Int32Array.of(0, 1)).dataSync()[0]!;
    expect(weighted).toBeGreaterThan(unweighted);
  });

  it('weights classes only when they are imbalanced', () => {
    expect(classWeights(Int32Array.of(0, 0, 1, 1), 2)).toBeNull();
    const w = classWeights(Int32Array.of(0, 0, 0, 0, 0, 0, 1, 1), 2)!;
    expect(w[0]).toBeCloseTo(8 / 12, 5);
    expect(w[1]).toBeCloseTo(2, 5);
  });
});

describe('learning-rate suggestions', () => {
  // Flat, then a long slide down between lr 1e-4 and 1e-1, then a blow-up.
  const curve = Array.from({ length: 60 }, (_, i) => {
    const lr = 1e-7 * 10 ** (i / 7);
    const loss = i < 20 ? 2 + 0.001 * i : i < 45 ? 2 - 0.06 * (i - 20) + 0.01 * Math.sin(i) : 0.5 + 0.4 * (i - 45);
    return { lr, loss };
  });
  it('valley lands inside the falling stretch, steep on its steepest part, minimum a tenth of the lowest', () => {
    const v = valley(curve);
    expect(v).toBeGreaterThan(curve[20]!.lr);
    expect(v).toBeLessThan(curve[45]!.lr);
    const s = steep(curve);
    expect(s).toBeGreaterThanOrEqual(curve[20]!.lr);
    expect(s).toBeLessThan(curve[45]!.lr);
    const lowest = curve.reduce((a, b) => (b.loss < a.loss ? b : a));
    expect(minimum(curve)).toBeCloseTo(lowest.lr / 10, 12);
  });
});

describe('overfitting warning', () => {
  it('flags validation loss rising while training loss falls', () => {
    const e = (epoch: number, trainLoss: number, validLoss: number) => ({ epoch, trainLoss, validLoss });
    expect(overfittingEpochs([e(1, 1, 1), e(2, 0.8, 0.9), e(3, 0.6, 0.8)])).toEqual([]);
    expect(overfittingEpochs([e(1, 1, 0.5), e(2, 0.8, 0.6), e(3, 0.6, 0.7), e(4, 0.5, 0.65)])).toEqual([3]);
    // A 0.5% wobble on a small validation set is noise, not overfitting.
    expect(overfittingEpochs([e(1, 1, 0.5), e(2, 0.8, 0.501), e(3, 0.6, 0.5025)])).toEqual([]);
  });

  it('keeps the lowest validation loss, or a later epoch within 1% of it', () => {
    const e = (epoch: number, validLoss: number) => ({ epoch, validLoss });
    expect(bestEpochOf([e(1, 0.9), e(2, 0.5), e(3, 0.6)])).toBe(2);
    expect(bestEpochOf([e(1, 0.9), e(2, 0.5), e(3, 0.504), e(4, 0.52)])).toBe(3);
  });

  it('never keeps an epoch whose loss is not a number, and keeps none when every loss is', () => {
    const e = (epoch: number, validLoss: number) => ({ epoch, validLoss });
    expect(bestEpochOf([e(1, 0.9), e(2, 0.5), e(3, NaN)])).toBe(2);
    expect(bestEpochOf([e(1, NaN), e(2, Infinity)])).toBeNull();
  });
});

describe('seeded random', () => {
  it('repeats for a seed and differs between seeds', () => {
    const a = createRandom(5);
    const b = createRandom(5);
    const c = createRandom(6);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
    expect(createRandom(1).shuffle([1, 2, 3, 4, 5, 6]).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('draws dropout masks that keep the asked share, scaled, and repeat for a seed', () => {
    const mask = createRandom(3).mask(100_000, 0.8, 1.25);
    const kept = mask.filter((v) => v !== 0);
    expect(kept.every((v) => v === 1.25)).toBe(true);
    expect(kept.length / mask.length).toBeGreaterThan(0.79);
    expect(kept.length / mask.length).toBeLessThan(0.81);
    expect(createRandom(3).mask(1000, 0.5, 2)).toEqual(createRandom(3).mask(1000, 0.5, 2));
    expect(createRandom(3).mask(1000, 0.5, 2)).not.toEqual(createRandom(4).mask(1000, 0.5, 2));
  });

  it('applies dropout in place with the same draws as the mask, as a float32 multiply would', () => {
    const values = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) + 2);
    const mask = createRandom(5).mask(1001, 0.7, 1 / 0.7);
    const masked = Float32Array.from(values, (v, i) => Math.fround(v * mask[i]!));
    const copy = values.slice();
    expect(createRandom(5).dropout(copy, 0.7, 1 / 0.7)).toBe(copy);
    expect(copy).toEqual(masked);
  });
});
