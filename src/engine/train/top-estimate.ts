// What top fine-tuning (steps/fine-tune-top.ts) would cost on this machine, in a second or two: a
// few real training steps of the top on random activations, a forward pass of the frozen part for
// the activations not yet cached, and the forward passes of validation and the final predictions.
// Also decides --fine-tune auto: top when this estimate fits TOP_BUDGET_SECONDS.
import * as tf from '@tensorflow/tfjs';
import type { BackboneSpec } from '../backbones/catalog';
import { loadFeatureModel } from '../backbones/load';
import { withBackend } from '../compute';
import { countMissingActivations, defaultThreads, type ScannedImage } from '../features';
import { headLoss } from './batches';
import { TRAIN_DEFAULTS } from './defaults';
import { yieldToEventLoop } from './fit';
import { createHead } from './head';
import { createRandom } from './random';
import { cutOf, TOP_NEED, topOfBackbone } from './top-of-backbone';
import { computeAndWait } from '../tensor-read';

/**
 * The most seconds 'auto' spends on top fine-tuning (activations included): the budget for a
 * whole default `foldwise train` of 2000 photos on 2 cores (180 s with a cold cache, 90 s with the
 * activations cached) less what the rest of it took there without fine-tuning (cold 33-42 s, warm
 * 4-8 s with this estimate), with a few seconds to spare (docs/BENCHMARKS.md "Top fine-tuning").
 */
export const TOP_BUDGET_SECONDS = { cold: 135, warm: 80 };

export interface TopEstimate {
  seconds: number;
  /** Activations still to compute, and the seconds they take (part of `seconds`). */
  missing: number;
  activationSeconds: number;
  /** Training photos per second of the top's training step. */
  photosPerSecond: number;
  epochs: number;
  cut: string;
  /** Whether 'auto' fine-tunes the top: the estimate fits the budget for a cache this warm. */
  fits: boolean;
}

/**
 * Far faster than any training step measured here (19-45 ms per photo on 2 cores): a folder whose top
 * epochs would not fit the warm budget even at this pace is 'off' for auto without timing anything.
 */
const FASTEST_PHOTOS_PER_SECOND = 400;
/** Likewise for the frozen part's pass that makes a photo's activations (20-50 per second measured on 2 cores). */
const FASTEST_ACTIVATIONS_PER_SECOND = 150;

export function clearlyTooBig(trainPhotos: number): boolean {
  return (TRAIN_DEFAULTS.top.epochs * trainPhotos) / FASTEST_PHOTOS_PER_SECOND > TOP_BUDGET_SECONDS.cold;
}

export async function estimateTop(spec: BackboneSpec, photos: { train: ScannedImage[]; valid: ScannedImage[]; test: ScannedImage[]; tta: boolean }, signal?: AbortSignal): Promise<TopEstimate> {
  const cut = cutOf(spec);
  const model = await loadFeatureModel(spec.id);
  try {
    const top = topOfBackbone(model, cut);
    const size = top.shape[0] * top.shape[1] * top.shape[2];
    const { missing } = await countMissingActivations(spec.id, cut, photos, { size, signal });
    const { epochs, batchSize } = TRAIN_DEFAULTS.top;
    const n = photos.train.length;
    const budget = missing > 0.1 * (n + photos.valid.length) ? TOP_BUDGET_SECONDS.cold : TOP_BUDGET_SECONDS.warm;
    // Out of reach even at paces faster than any measured: say so without timing anything (on a
    // 12k-photo folder, timing took 12 s to find that out).
    const atBest = missing / FASTEST_ACTIVATIONS_PER_SECOND + (epochs * n) / FASTEST_PHOTOS_PER_SECOND;
    if (atBest > budget) return { seconds: atBest, missing, activationSeconds: missing / FASTEST_ACTIVATIONS_PER_SECOND, photosPerSecond: FASTEST_PHOTOS_PER_SECOND, epochs, cut, fits: false };
    const timed = await withBackend(TOP_NEED, async () => {
      const head = createHead({ inputDim: spec.featureSize, classes: 2, ...TRAIN_DEFAULTS.head }, createRandom(0));
      const x = tf.randomNormal([batchSize, ...top.shape]) as tf.Tensor4D;
      const labels = Int32Array.from({ length: batchSize }, (_, i) => i % 2);
      let step = Infinity;
      try {
        // In a fresh process the first steps pay one-off costs (measured: 38 photos/s after one
        // warm-up step, 93 after two, 141 in training); the fastest of the last three counts.
        for (let round = 0; round < 5; round++) {
          await yieldToEventLoop();
          signal?.throwIfAborted();
          const begin = performance.now();
          await computeAndWait(() => Object.values(tf.variableGrads(() => headLoss(head.logits(top.features(x)), labels), [...top.variables, ...head.variables]).grads)[0]!);
          if (round > 1) step = Math.min(step, (performance.now() - begin) / 1000 / batchSize);
        }
        // Validation and the final features run 128 photos at a time (steps/fine-tune-top.ts).
        const many = tf.tile(x, [4, 1, 1, 1]) as tf.Tensor4D;
        await computeAndWait(() => top.features(many));
        const begin = performance.now();
        await computeAndWait(() => top.features(many));
        const forward = (performance.now() - begin) / 1000 / (4 * batchSize);
        many.dispose();
        return { step, forward };
      } finally {
        x.dispose();
        head.dispose();
      }
    });
    // The frozen part runs in one wasm worker per core (features/activations.ts): time one photo here, on wasm too.
    const bottom = missing === 0 ? 0 : await withBackend('inference', async () => {
      const pixels = tf.randomUniform([2, spec.inputSize, spec.inputSize, 3], 0, 255);
      try {
        (top.bottom.predict(pixels) as tf.Tensor).dispose();
        const begin = performance.now();
        await computeAndWait(() => top.bottom.predict(pixels) as tf.Tensor);
        return (performance.now() - begin) / 1000 / 2;
      } finally {
        pixels.dispose();
      }
    });
    const views = photos.tta ? 2 : 1;
    // Decoding runs beside the workers; 1.3 covers it and the workers' share of two busy cores.
    const activationSeconds = (missing * bottom * 1.3) / defaultThreads();
    const forwardPhotos = epochs * photos.valid.length * views + n + (photos.valid.length + photos.test.length) * views;
    const seconds = activationSeconds + epochs * n * timed.step + forwardPhotos * timed.forward;
    return { seconds, missing, activationSeconds, photosPerSecond: 1 / timed.step, epochs, cut, fits: seconds <= budget };
  } finally {
    model.dispose();
  }
}
