// What fine-tuning would cost on this machine, found in a few seconds. A full-size training step
// on the cpu backend takes seconds per photo and cannot be interrupted, so the estimate times
// single-photo steps at two small input sizes (the backbone is fully convolutional: same weights,
// fewer pixels) and scales to the real size. Two scalings bracket the truth: "a fixed cost per step
// plus a cost per pixel" (fitted through both sizes) and "cost per pixel only" (from the larger).
// Measured on mobilenet_v2_035 here, the real 224-pixel step time lay between the two.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../../shared/rpc';
import type { FineTuneEstimate, TrainConfig } from '../../shared/types';
import { getBackbone } from '../backbones/catalog';
import { loadFeatureModel } from '../backbones/load';
import { applyEdits, scanDataset } from '../dataset';
import { headLoss } from './batches';
import { withBackend } from '../compute';
import { TRAIN_DEFAULTS } from './defaults';
import { atInputSize, parameterGroups } from './fine-tune';
import { yieldToEventLoop } from './fit';
import { createHead } from './head';
import { createRandom } from './random';
import type { JobContext } from './job';
import { estimateTop } from './top-estimate';
import { TOP_NEED } from './top-of-backbone';
import { defaultThreads } from '../features';
import { computeAndWait } from '../tensor-read';

/** Seconds for one photo's forward and backward pass at `pixels` per photo. */
export interface StepTiming {
  pixels: number;
  seconds: number;
}

/** seconds = overhead + perPixel * pixels, through two timings; per pixel only when noise makes the slope useless. */
export function fitStepCost(small: StepTiming, large: StepTiming): { overhead: number; perPixel: number } {
  const perPixel = (large.seconds - small.seconds) / (large.pixels - small.pixels);
  const overhead = large.seconds - perPixel * large.pixels;
  if (!(perPixel > 0) || overhead < 0) return { overhead: 0, perPixel: large.seconds / large.pixels };
  return { overhead, perPixel };
}

export interface WorkPlan {
  /** Full-size pixels per photo. */
  pixels: number;
  trainPhotos: number;
  epochs: number;
  /** Photos per forward/backward pass (each pays the fixed cost once). */
  sliceSize: number;
  /** Forward passes only: validation each epoch and the final predictions. */
  forwardPhotos: number;
}

/**
 * The likely time of the whole job and its bracket. low: the fixed-plus-per-pixel fit, less 15%
 * for timing noise; high: per-pixel scaling from the larger timed size, plus 15%.
 */
export function projectCost(small: StepTiming, large: StepTiming, forwardPerPhoto: number, plan: WorkPlan): { seconds: number; low: number; high: number; perPhoto: number } {
  const { overhead, perPixel } = fitStepCost(small, large);
  const slicesPerEpoch = Math.ceil(plan.trainPhotos / plan.sliceSize);
  const fitted = plan.epochs * (slicesPerEpoch * overhead + plan.trainPhotos * perPixel * plan.pixels);
  const perPixelOnly = plan.epochs * plan.trainPhotos * large.seconds * (plan.pixels / large.pixels);
  const forward = plan.forwardPhotos * forwardPerPhoto;
  const training = (fitted + perPixelOnly) / 2;
  return {
    seconds: training + forward,
    low: 0.85 * fitted + forward,
    high: 1.15 * perPixelOnly + forward,
    perPhoto: training / Math.max(1, plan.epochs * plan.trainPhotos),
  };
}

/** "40 seconds", "12 minutes", "3.5 hours". */
export function describeDuration(seconds: number): string {
  const minutes = seconds / 60;
  if (minutes < 1.5) return `${Math.max(1, Math.round(seconds))} seconds`;
  if (minutes < 90) return `${Math.round(minutes)} minutes`;
  return `${(minutes / 60).toFixed(1)} hours`;
}

const BACKEND_WORDS: Record<string, string> = {
  cpu: 'the CPU in plain JavaScript (one core)',
  tensorflow: 'TensorFlow native (tfjs-node)',
  wasm: 'WebAssembly',
};

/** Multiples of 32 (MobileNets halve the size five times) at about 2/7 and 3/7 of the full size. */
export function timedSizes(inputSize: number): [number, number] {
  const round = (x: number) => Math.max(32, Math.round(x / 32) * 32);
  const small = round((inputSize * 2) / 7);
  return [small, Math.min(inputSize, Math.max(small + 32, round((inputSize * 3) / 7)))];
}

export interface EstimateOptions {
  /** Input sizes to time at; default timedSizes(the backbone's input size). */
  sizes?: [number, number];
  /** Called after each timed pass (tests cancel from here). */
  onTimed?(timing: StepTiming & { size: number; round: number }): void;
}

/**
 * What the asked-for fine-tuning costs: 'top' and 'auto' estimate top fine-tuning (top-estimate.ts),
 * 'whole' (and 'off', for callers that ask before choosing) the whole network. A job on the
 * fine-tuning backend (its forward passes a phase on the inference backend); tfjs is left as it was found.
 */
export function estimateFineTune(config: TrainConfig, ctx: Pick<JobContext, 'signal'>, options: EstimateOptions = {}): Promise<FineTuneEstimate> {
  if (config.fineTune === 'top' || config.fineTune === 'auto') return withBackend(TOP_NEED, () => estimateTopFor(config, ctx));
  return withBackend('convolutions', () => estimate(config, ctx, options));
}

async function estimateTopFor(config: TrainConfig, { signal }: Pick<JobContext, 'signal'>): Promise<FineTuneEstimate> {
  const started = performance.now();
  const spec = getBackbone(config.backbone);
  let dataset = await scanDataset(config.root, { validFraction: config.validFraction, signal });
  if (config.edits) dataset = applyEdits(dataset, config.edits);
  const of = (split: string) => dataset.images.filter((i) => i.split === split);
  const photos = { train: of('train'), valid: of('valid'), test: of('test'), tta: config.tta !== false };
  if (photos.train.length === 0) throw new EngineError('train/no-images', `No usable training photos were found in ${config.root}.`);
  const e = await estimateTop(spec, photos, signal);
  const busy = os.loadavg()[0]! > 0.75 * os.availableParallelism();
  const message = [
    `Fine-tuning the photo model's last layers would take about ${describeDuration(e.seconds)} on this machine:`,
    e.missing > 0 ? `${describeDuration(e.activationSeconds)} to prepare ${e.missing} photos and mirror images once (kept for later runs), then` : 'its prepared photos are ready, then',
    `${e.epochs} passes over ${photos.train.length} photos at about ${Math.round(e.photosPerSecond)} photos a second.`,
    busy ? 'Other programs were busy while this was measured, so it may be on the high side.' : '',
  ]
    .filter(Boolean)
    .join(' ');
  const method =
    `Timed training steps of the backbone's top (above ${e.cut}) on random activations, a forward pass of the frozen part for the ${e.missing} activations not cached ` +
    `(shared among ${defaultThreads()} workers), and the forward passes of validation and the final predictions. Measured in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
  return { seconds: e.seconds, low: 0.7 * e.seconds, high: 1.5 * e.seconds, backend: tf.getBackend(), message, method };
}

async function estimate(config: TrainConfig, ctx: Pick<JobContext, 'signal'>, options: EstimateOptions): Promise<FineTuneEstimate> {
  const started = performance.now();
  const { signal } = ctx;
  const full = getBackbone(config.backbone);
  let dataset = await scanDataset(config.root, { validFraction: config.validFraction, signal });
  if (config.edits) dataset = applyEdits(dataset, config.edits);
  const count = (split: string) => dataset.images.filter((i) => i.split === split).length;
  const [trainPhotos, validPhotos, testPhotos] = [count('train'), count('valid'), count('test')];
  if (trainPhotos === 0) throw new EngineError('train/no-images', `No usable training photos were found in ${config.root}.`);

  const backend = tf.getBackend();
  const model = await loadFeatureModel(full.id);
  const classes = Math.max(2, dataset.summary.classes.length);
  const head = createHead({ inputDim: full.featureSize, classes, hidden: TRAIN_DEFAULTS.head.hidden, dropout: TRAIN_DEFAULTS.head.dropout }, createRandom(0));
  const sizes = options.sizes ?? timedSizes(full.inputSize);
  const inputs = sizes.map((size) => tf.tidy(() => tf.randomUniform([1, size, size, 3], 0, 255, 'float32', size) as tf.Tensor4D));
  try {
    const tunables = sizes.map((size) => atInputSize(model, full, size).tunable);
    const variables = parameterGroups(model, head).flatMap((g) => g.variables);
    const labels = Int32Array.from([0]);
    const best = sizes.map(() => Infinity);
    // small, large, small, large: the first of each pays one-off allocations; the faster of two counts.
    for (const round of [0, 1]) {
      for (let i = 0; i < sizes.length; i++) {
        await yieldToEventLoop();
        signal.throwIfAborted();
        const begin = performance.now();
        // Reading one gradient waits for every kernel (on async backends too).
        await computeAndWait(() => Object.values(tf.variableGrads(() => headLoss(head.logits(tunables[i]!.apply(inputs[i]!, { training: false }) as tf.Tensor2D), labels), variables).grads)[0]!);
        const seconds = (performance.now() - begin) / 1000;
        best[i] = Math.min(best[i]!, seconds);
        options.onTimed?.({ size: sizes[i]!, pixels: sizes[i]! ** 2, seconds, round });
      }
    }
    // Validation and the final predictions are forward passes on the inference backend.
    const { inference, forward } = await withBackend('inference', async () => {
      let fastest = Infinity;
      for (const _ of [0, 1]) {
        await yieldToEventLoop();
        signal.throwIfAborted();
        const begin = performance.now();
        await computeAndWait(() => tunables[1]!.predict(inputs[1]!) as tf.Tensor);
        fastest = Math.min(fastest, (performance.now() - begin) / 1000);
      }
      return { inference: tf.getBackend(), forward: fastest };
    });
    const pixels = full.inputSize ** 2;
    const views = config.tta === false ? 1 : 2;
    const epochs = TRAIN_DEFAULTS.fineTuneEpochs;
    const sliceSize = backend === 'cpu' ? 1 : TRAIN_DEFAULTS.fineTuneBatchSize;
    const small = { pixels: sizes[0]! ** 2, seconds: best[0]! };
    const large = { pixels: sizes[1]! ** 2, seconds: best[1]! };
    const forwardPhotos = epochs * validPhotos * views + (validPhotos + testPhotos) * views + trainPhotos;
    const cost = projectCost(small, large, forward * (pixels / large.pixels), { pixels, trainPhotos, epochs, sliceSize, forwardPhotos });

    const busy = os.loadavg()[0]! > 0.75 * os.availableParallelism();
    const message = [
      `Fine-tuning would take about ${describeDuration(cost.seconds)} on this machine (likely ${describeDuration(cost.low)} to ${describeDuration(cost.high)}):`,
      `${epochs} passes over ${trainPhotos} photos on ${BACKEND_WORDS[backend] ?? backend}, about ${cost.perPhoto.toFixed(cost.perPhoto < 10 ? 1 : 0)} s per photo.`,
      busy ? 'Other programs were busy while this was measured, so it may be on the high side.' : '',
      backend === 'cpu' ? 'A computer with an NVIDIA GPU (tfjs-node-gpu) would likely take minutes, and installing tfjs-node makes this processor many times faster.' : '',
    ]
      .filter(Boolean)
      .join(' ');
    const method =
      `Timed training passes of one photo on ${backend} at ${sizes[0]}x${sizes[0]} (${small.seconds.toFixed(2)} s) and ${sizes[1]}x${sizes[1]} (${large.seconds.toFixed(2)} s), ` +
      `scaled to ${full.inputSize}x${full.inputSize} by pixel count (low end: a fixed cost per pass plus a cost per pixel; high end: cost per pixel only), ` +
      `for ${epochs} epochs in batches of ${TRAIN_DEFAULTS.fineTuneBatchSize}; forward passes (${forwardPhotos} photos: validation each epoch and the final predictions) timed on ${inference}. ` +
      `Measured in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
    return { seconds: cost.seconds, low: cost.low, high: cost.high, backend, message, method };
  } finally {
    tf.dispose(inputs);
    head.dispose();
    // The smaller models share every weight with `model`: disposing model frees them all.
    model.dispose();
  }
}
