// Fine-tuning (--fine-tune): after the head has trained on frozen features, unfreeze the backbone
// and train everything end to end on decoded photos, with discriminative learning rates (fast.ai's
// slice(lr/100, lr)): early layers move least, the head most. Needs gradients through convolutions,
// so it runs on tfjs-node where installed and on the (slow) cpu backend otherwise; estimateFineTune
// times a couple of real steps first so people know what they are in for.
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../../shared/rpc';
import type { EpochMetrics, FineTuneEstimate, TrainConfig } from '../../shared/types';
import { getBackbone, type BackboneSpec } from '../backbones/catalog';
import { buildFeatureModel, FEATURE_MODEL_LAYERS, loadFeatureModel } from '../backbones/load';
import { decodeForModel, scanDataset, type ScannedImage } from '../dataset';
import { flipHorizontal } from '../features';
import { AdamW } from './adamw';
import { headLoss } from './batches';
import { TRAIN_DEFAULTS } from './defaults';
import { createHead, type Head } from './head';
import { createRandom, type Random } from './random';
import { oneCycle } from './schedule';
import { useGradientBackend } from './backend';
import type { JobContext } from './run';

export interface FineTuneOptions {
  backbone: tf.LayersModel;
  spec: BackboneSpec;
  head: Head;
  train: { images: ScannedImage[]; labels: Int32Array };
  /** Scores the current backbone + head on validation; lower loss is better. */
  validate(): Promise<{ loss: number; accuracy: number }>;
  epochs: number;
  /** The head's learning rate; the backbone's groups get lr/10 and lr/100. */
  maxLr: number;
  seed: number;
  batchSize?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  /** Numbering continues after the head's epochs. */
  firstEpoch: number;
  signal?: AbortSignal;
  waitIfPaused?(): Promise<void>;
  onBatch?(info: { epoch: number; batch: number; batches: number; loss: number }): void;
  onEpoch?(metrics: EpochMetrics): void;
}

/**
 * The feature model to fine-tune, optionally at a smaller input size sharing the same weights (the
 * trunk is fully convolutional): tests use 32x32 to stay fast, and the estimate times a small size
 * and scales by pixel count. `model` is always the app's full-size model.
 */
export async function loadTunableBackbone(spec: BackboneSpec, inputSize = spec.inputSize): Promise<{ model: tf.LayersModel; tunable: tf.LayersModel; spec: BackboneSpec }> {
  const model = await loadFeatureModel(spec.id);
  if (inputSize === spec.inputSize) return { model, tunable: model, spec };
  const small = { ...spec, inputSize, recipe: { ...spec.recipe, size: inputSize } };
  const trunk = model.getLayer(FEATURE_MODEL_LAYERS.trunk) as unknown as tf.LayersModel;
  return { model, tunable: buildFeatureModel(trunk, small).model, spec: small };
}

/** Backbone weights in three depth groups plus the head, with learning-rate multipliers 1/100, 1/30, 1/10, 1. */
export function parameterGroups(backbone: tf.LayersModel, head: Head): { variables: tf.Variable[]; lrMultiplier: number }[] {
  const weights = backbone.trainableWeights.map((w) => w.read() as tf.Variable);
  const third = Math.ceil(weights.length / 3);
  return [
    { variables: weights.slice(0, third), lrMultiplier: 1 / 100 },
    { variables: weights.slice(third, 2 * third), lrMultiplier: 1 / 30 },
    { variables: weights.slice(2 * third), lrMultiplier: 1 / 10 },
    { variables: head.variables, lrMultiplier: 1 },
  ].filter((g) => g.variables.length > 0);
}

/** Decodes a batch of photos to [N, size, size, 3] float pixels 0-255, mirroring some at random. */
async function pixelBatch(images: ScannedImage[], spec: BackboneSpec, random: Random | null): Promise<tf.Tensor4D> {
  const size = spec.recipe.size;
  const pixels = new Float32Array(images.length * size * size * 3);
  const decoded = await Promise.all(images.map((image) => decodeForModel(image.path, spec.recipe)));
  decoded.forEach((p, i) => pixels.set(random && random.next() < 0.5 ? flipHorizontal(p, size) : p, i * size * size * 3));
  return tf.tensor4d(pixels, [images.length, size, size, 3]);
}

/** Features of photos through `backbone` (centre crop, or mirrored), batch by batch. */
export async function embedImages(backbone: tf.LayersModel, spec: BackboneSpec, images: ScannedImage[], { flip = false, batchSize = 16, signal }: { flip?: boolean; batchSize?: number; signal?: AbortSignal } = {}): Promise<Float32Array> {
  const dim = spec.featureSize;
  const out = new Float32Array(images.length * dim);
  for (let start = 0; start < images.length; start += batchSize) {
    signal?.throwIfAborted();
    const batch = images.slice(start, start + batchSize);
    const size = spec.recipe.size;
    const decoded = await Promise.all(batch.map((image) => decodeForModel(image.path, spec.recipe)));
    const pixels = new Float32Array(batch.length * size * size * 3);
    decoded.forEach((p, i) => pixels.set(flip ? flipHorizontal(p, size) : p, i * size * size * 3));
    const features = tf.tidy(() => backbone.predict(tf.tensor4d(pixels, [batch.length, size, size, 3])) as tf.Tensor2D);
    out.set(await features.data(), start * dim);
    features.dispose();
  }
  return out;
}

/** One optimisation step over every group; returns the batch loss. */
function step(x: tf.Tensor4D, labels: Int32Array, backbone: tf.LayersModel, head: Head, groups: ReturnType<typeof parameterGroups>, optimizers: AdamW[], random: Random, smoothing: number): number {
  return tf.tidy(() => {
    const all = groups.flatMap((g) => g.variables);
    // BatchNorm keeps its ImageNet statistics (training: false): batches of 16 are too small to re-estimate them.
    const { value, grads } = tf.variableGrads(() => headLoss(head.logits(backbone.apply(x, { training: false }) as tf.Tensor2D, random), labels, { smoothing }), all);
    groups.forEach((g, i) => {
      optimizers[i]!.applyGradients(g.variables.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
    });
    return value.dataSync()[0]!;
  });
}

export async function fineTune(options: FineTuneOptions): Promise<EpochMetrics[]> {
  const { backbone, spec, head, train, epochs, maxLr, seed, batchSize = TRAIN_DEFAULTS.fineTuneBatchSize, weightDecay = TRAIN_DEFAULTS.weightDecay, labelSmoothing = 0 } = options;
  const random = createRandom(seed + 1);
  const groups = parameterGroups(backbone, head);
  const optimizers = groups.map(() => new AdamW(0, weightDecay));
  const n = train.images.length;
  const batches = Math.ceil(n / batchSize);
  const schedule = oneCycle({ maxLr, totalSteps: epochs * batches });
  const history: EpochMetrics[] = [];
  let stepIndex = 0;
  try {
    for (let e = 0; e < epochs; e++) {
      const epoch = options.firstEpoch + e;
      const started = performance.now();
      const order = random.shuffle(Array.from({ length: n }, (_, i) => i));
      let lossSum = 0;
      for (let b = 0; b < batches; b++) {
        await options.waitIfPaused?.();
        options.signal?.throwIfAborted();
        const rows = order.slice(b * batchSize, (b + 1) * batchSize);
        const x = await pixelBatch(rows.map((i) => train.images[i]!), spec, random);
        const lr = schedule(stepIndex++);
        groups.forEach((g, i) => optimizers[i]!.setLearningRate(lr * g.lrMultiplier));
        const loss = step(x, Int32Array.from(rows, (i) => train.labels[i]!), backbone, head, groups, optimizers, random, labelSmoothing);
        x.dispose();
        lossSum += loss * rows.length;
        options.onBatch?.({ epoch, batch: b + 1, batches, loss });
      }
      const valid = await options.validate();
      const metrics: EpochMetrics = { epoch, trainLoss: lossSum / n, validLoss: valid.loss, accuracy: valid.accuracy, seconds: (performance.now() - started) / 1000, lr: optimizers.at(-1)!.getLearningRate(), stage: 'fine-tune' };
      history.push(metrics);
      options.onEpoch?.(metrics);
    }
  } finally {
    optimizers.forEach((o) => o.dispose());
  }
  return history;
}

/**
 * Times real fine-tuning steps on this backend and scales to the whole job. Steps are timed at
 * 64x64 input (same weights) and scaled by pixel count, because one full-size step on the cpu
 * backend can itself take a minute.
 */
export async function estimateFineTune(config: TrainConfig, ctx: Pick<JobContext, 'signal'>): Promise<FineTuneEstimate> {
  const full = getBackbone(config.backbone);
  const dataset = await scanDataset(config.root, { validFraction: config.validFraction, signal: ctx.signal });
  const trainImages = dataset.images.filter((i) => i.split === 'train').length;
  const validImages = dataset.images.filter((i) => i.split === 'valid').length;
  if (trainImages === 0) throw new EngineError('train/no-images', `No usable training photos were found in ${config.root}.`);
  const backend = await useGradientBackend('convolutions');
  const timedSize = Math.min(64, full.inputSize);
  const { model, tunable, spec } = await loadTunableBackbone(full, timedSize);
  const timedBatch = 4;
  const classes = Math.max(2, dataset.summary.classes.length);
  const head = createHead({ inputDim: spec.featureSize, classes, hidden: TRAIN_DEFAULTS.head.hidden, dropout: TRAIN_DEFAULTS.head.dropout }, createRandom(0));
  const groups = parameterGroups(tunable, head);
  const optimizers = groups.map(() => new AdamW(1e-9, 0));
  const random = createRandom(0);
  const x = tf.tidy(() => tf.randomUniform([timedBatch, timedSize, timedSize, 3], 0, 255, 'float32', 1) as tf.Tensor4D);
  const labels = Int32Array.from({ length: timedBatch }, (_, i) => i % classes);
  try {
    step(x, labels, tunable, head, groups, optimizers, random, 0); // warm-up: first-call allocations
    ctx.signal.throwIfAborted();
    const started = performance.now();
    step(x, labels, tunable, head, groups, optimizers, random, 0);
    const perImage = ((performance.now() - started) / 1000 / timedBatch) * (full.inputSize / timedSize) ** 2;
    const batchSize = TRAIN_DEFAULTS.fineTuneBatchSize;
    const epochs = TRAIN_DEFAULTS.fineTuneEpochs;
    // Validation each epoch runs forward only (about a third of a step), centre and mirrored.
    const seconds = perImage * (epochs * trainImages + (epochs * 2 * validImages) / 3);
    const minutes = seconds / 60;
    const time = minutes < 1.5 ? `${Math.round(seconds)} seconds` : minutes < 90 ? `${Math.round(minutes)} minutes` : `${(minutes / 60).toFixed(1)} hours`;
    return {
      seconds,
      backend,
      message:
        `Fine-tuning ${trainImages} photos for ${epochs} epochs on ${backend} should take about ${time} ` +
        `(about ${(perImage * batchSize).toFixed(1)} s per batch of ${batchSize}, timed at ${timedSize}x${timedSize} and scaled to ${full.inputSize}x${full.inputSize}).` +
        (backend === 'cpu' ? ' Installing tfjs-node (or tfjs-node-gpu with a GPU) makes this many times faster.' : ''),
    };
  } finally {
    x.dispose();
    optimizers.forEach((o) => o.dispose());
    head.dispose();
    // `tunable` shares every weight with `model`: disposing model frees both.
    model.dispose();
  }
}
