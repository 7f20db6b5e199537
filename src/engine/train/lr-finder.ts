// The learning-rate range test (Leslie Smith; fast.ai's lr_find): train a fresh head while the
// learning rate grows exponentially, record the smoothed loss, stop once it blows up, and suggest
// rates from the shape of the curve.
import * as tf from '@tensorflow/tfjs';
import { AdamW } from './adamw';
import { epochBatches, headLoss, type TrainingSet } from './batches';
import { yieldToEventLoop } from './fit';
import { createHead, type HeadSpec } from './head';
import { createRandom } from './random';

export interface LrPoint {
  lr: number;
  loss: number;
}

export interface LrSuggestions {
  valley: number;
  steep: number;
  minimum: number;
}

export interface LrFinderResult {
  suggestion: number;
  chosen: keyof LrSuggestions;
  suggestions: LrSuggestions;
  curve: LrPoint[];
}

export interface LrFinderOptions {
  head: Omit<HeadSpec, 'inputDim' | 'classes'>;
  seed: number;
  batchSize?: number;
  weightDecay?: number;
  startLr?: number;
  endLr?: number;
  steps?: number;
  /** Smoothing of the recorded loss (an exponential moving average with bias correction). */
  beta?: number;
  choose?: keyof LrSuggestions;
  signal?: AbortSignal;
  onStep?(step: number, steps: number): void | Promise<void>;
}

/** fast.ai's "valley": the middle-ish of the longest run of decreasing loss. */
export function valley(curve: LrPoint[]): number {
  const n = curve.length;
  const lds = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (curve[i]!.loss < curve[j]!.loss && lds[i]! < lds[j]! + 1) lds[i] = lds[j]! + 1;
      if (lds[maxEnd]! < lds[i]!) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd]!;
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const index = Math.min(n - 1, Math.max(0, maxStart + Math.trunc(sections) + Math.trunc(sections / 2)));
  return curve[index]!.lr;
}

/** The rate where the loss falls fastest per unit of log(lr). */
export function steep(curve: LrPoint[]): number {
  let best = 0;
  let bestSlope = Infinity;
  for (let i = 0; i + 1 < curve.length; i++) {
    const slope = (curve[i + 1]!.loss - curve[i]!.loss) / (Math.log(curve[i + 1]!.lr) - Math.log(curve[i]!.lr));
    if (slope < bestSlope) {
      bestSlope = slope;
      best = i;
    }
  }
  return curve[best]!.lr;
}

/** A tenth of the rate with the lowest loss. */
export function minimum(curve: LrPoint[]): number {
  let best = curve[0]!;
  for (const p of curve) if (p.loss < best.loss) best = p;
  return best.lr / 10;
}

/** Suggestions from a recorded curve, ignoring the first tenth and the last few points as fast.ai does. */
export function suggestLearningRates(curve: LrPoint[], steps: number): LrSuggestions {
  const head = Math.floor(steps / 10);
  const trimmed = curve.length - head - 5 >= 3 ? curve.slice(head, curve.length - 5) : curve;
  if (trimmed.length === 0) throw new Error('The learning-rate finder recorded no losses.');
  return { valley: valley(trimmed), steep: steep(trimmed), minimum: minimum(trimmed) };
}

export async function findLearningRate(set: TrainingSet, options: LrFinderOptions): Promise<LrFinderResult> {
  const { seed, batchSize = 64, weightDecay = 0.01, startLr = 1e-7, endLr = 10, steps = 100, beta = 0.98, choose = 'valley' } = options;
  if (set.train.labels.length === 0) throw new Error('There are no training images to test learning rates on.');
  const random = createRandom(seed);
  const head = createHead({ ...options.head, inputDim: set.dim, classes: set.classes.length }, random);
  const optimizer = new AdamW(startLr, weightDecay);
  const curve: LrPoint[] = [];
  try {
    let average = 0;
    let best = Infinity;
    let step = 0;
    outer: for (;;) {
      for (const batch of epochBatches(set, batchSize, random)) {
        options.signal?.throwIfAborted();
        const lr = startLr * (endLr / startLr) ** (step / (steps - 1));
        optimizer.setLearningRate(lr);
        const cost = tf.tidy(() => optimizer.minimize(() => headLoss(head.trainingLogits(batch.x, batch.y.length, random), batch.y), true, head.variables)!);
        const loss = (await cost.data())[0]!; // async: WebGPU in Node has no synchronous read
        cost.dispose();
        average = beta * average + (1 - beta) * loss;
        const smoothed = average / (1 - beta ** (step + 1));
        if (!Number.isFinite(smoothed)) break outer;
        curve.push({ lr, loss: smoothed });
        best = Math.min(best, smoothed);
        step++;
        await options.onStep?.(step, steps);
        // Lets a cancel in: a 150-class folder's 100 steps take seconds.
        if (step % 4 === 0) await yieldToEventLoop();
        if (smoothed > 4 * best || step >= steps) break outer;
      }
    }
  } finally {
    optimizer.dispose();
    head.dispose();
  }
  const suggestions = suggestLearningRates(curve, steps);
  return { suggestion: suggestions[choose], chosen: choose, suggestions, curve };
}
