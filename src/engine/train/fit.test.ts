import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { switchBackend } from '../compute';
import { fitHead } from './fit';
import { findLearningRate } from './lr-finder';
import { syntheticSet } from './synthetic.test-helpers';

const head = { hidden: 0, dropout: 0.2 };

beforeAll(async () => {
  await switchBackend('head');
});

describe('learning-rate finder on synthetic features', () => {
  it('sweeps upward from 1e-7, stops when the loss blows up, and repeats exactly for a seed', async () => {
    // Overlapping classes and a hidden layer: large rates make the loss explode, as on real features.
    const set = syntheticSet([60, 60, 60], 16, { separation: 0.3 });
    const head = { hidden: 64, dropout: 0.2 };
    const a = await findLearningRate(set, { head, seed: 3 });
    const b = await findLearningRate(set, { head, seed: 3 });
    const c = await findLearningRate(set, { head, seed: 4 });
    expect(a.curve[0]!.lr).toBeCloseTo(1e-7, 12);
    for (let i = 1; i < a.curve.length; i++) expect(a.curve[i]!.lr).toBeGreaterThan(a.curve[i - 1]!.lr);
    expect(a.curve.length).toBeLessThan(100); // diverged before lr = 10
    const last = a.curve.at(-1)!.loss;
    expect(last).toBeGreaterThan(4 * Math.min(...a.curve.map((p) => p.loss)));
    expect(b).toEqual(a);
    expect(c.curve).not.toEqual(a.curve);
    expect(a.chosen).toBe('valley');
    expect(a.suggestion).toBe(a.suggestions.valley);
    for (const lr of Object.values(a.suggestions)) {
      expect(lr).toBeGreaterThan(1e-6);
      expect(lr).toBeLessThan(1);
    }
  });
});

describe('head training on synthetic features', () => {
  it('learns separable classes, keeps the best epoch and does not leak tensors across epochs', async () => {
    const set = syntheticSet([60, 60, 60], 16, { views: 2 });
    const counts: number[] = [];
    const result = await fitHead(set, { head, epochs: 8, maxLr: 0.05, seed: 1, onEpoch: () => counts.push(tf.memory().numTensors) });
    expect(result.epochs).toHaveLength(8);
    const best = result.epochs.find((e) => e.epoch === result.bestEpoch)!;
    expect(best.validLoss).toBeLessThanOrEqual(1.01 * Math.min(...result.epochs.map((e) => e.validLoss)));
    expect(best.accuracy).toBeGreaterThan(0.9);
    expect(result.epochs.at(-1)!.trainLoss).toBeLessThan(result.epochs[0]!.trainLoss);
    expect(new Set(counts.slice(1)).size).toBe(1); // flat after the first epoch built the optimiser state
    result.head.dispose();
  });

  it('a hidden layer also learns, and class weights switch on for imbalanced classes', async () => {
    const set = syntheticSet([90, 15], 16);
    const result = await fitHead(set, { head: { hidden: 32, dropout: 0.2 }, epochs: 6, maxLr: 0.02, seed: 2 });
    expect(result.classWeights).not.toBeNull();
    expect(result.classWeights![1]).toBeGreaterThan(result.classWeights![0]!);
    expect(result.epochs.at(-1)!.accuracy).toBeGreaterThan(0.9);
    result.head.dispose();
  });

  it('stops within a second of cancel and frees its tensors', async () => {
    const set = syntheticSet([3000, 3000], 64);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let cancelledAt = 0;
    const run = fitHead(set, {
      head,
      epochs: 50,
      maxLr: 0.01,
      seed: 1,
      signal: controller.signal,
      onBatch: ({ batch }) => {
        if (batch === 3 && !cancelledAt) {
          cancelledAt = performance.now();
          controller.abort();
        }
      },
    });
    await expect(run).rejects.toThrow();
    expect(performance.now() - cancelledAt).toBeLessThan(1000);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('waits while paused and carries on when resumed', async () => {
    const set = syntheticSet([30, 30]);
    let paused = true;
    let waits = 0;
    let resume!: () => void;
    const gate = new Promise<void>((r) => (resume = r));
    let epochs = 0;
    const run = fitHead(set, {
      head,
      epochs: 2,
      maxLr: 0.01,
      seed: 1,
      waitIfPaused: async () => {
        waits++;
        if (paused) await gate;
      },
      onEpoch: () => epochs++,
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(epochs).toBe(0);
    expect(waits).toBe(1);
    paused = false;
    resume();
    const result = await run;
    expect(result.epochs).toHaveLength(2);
    result.head.dispose();
  });
});

describe('backends', () => {
  it('the head trains the same on wasm (used for speed) as on the reference cpu backend', async () => {
    const set = syntheticSet([40, 40, 40], 16, { views: 1 });
    const losses: Record<string, number[]> = {};
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const result = await fitHead(set, { head: { hidden: 8, dropout: 0.2 }, epochs: 3, maxLr: 0.01, seed: 9 });
      losses[backend] = result.epochs.flatMap((e) => [e.trainLoss, e.validLoss]);
      result.head.dispose();
    }
    await switchBackend('head');
    losses.wasm!.forEach((loss, i) => expect(loss).toBeCloseTo(losses.cpu![i]!, 3));
  });
});
