// Fine-tuning (--fine-tune): after the head has trained on frozen features, unfreeze the backbone
// and train everything end to end on decoded photos, with discriminative learning rates (fast.ai's
// slice(lr/100, lr)): early layers move least, the head most. Needs gradients through convolutions,
// so it runs on tfjs-node where installed and otherwise on wasm with Foldwise's gradient kernels
// (compute.ts; ~60 ms of CPU per 224-pixel photo, bench/fine-tune.ts) or, failing that, the plain-JS
// cpu backend (~3 s per photo); estimateFineTune times a few small real steps first so people know
// what they are in for. A batch is worked through in slices of photos whose gradients add up to the
// batch's: a cancel or a pause lands after the current slice, and on wasm a slice's activations are
// what the heap must hold (it never shrinks).
import * as tf from '@tensorflow/tfjs';
import type { EpochMetrics } from '../../shared/types';
import type { BackboneSpec } from '../backbones/catalog';
import { buildFeatureModel, FEATURE_MODEL_LAYERS, loadFeatureModel } from '../backbones/load';
import { decodeForModel, type ScannedImage } from '../dataset';
import { flipHorizontal } from '../features';
import { AdamW } from './adamw';
import { headLoss } from './batches';
import { TRAIN_DEFAULTS } from './defaults';
import { yieldToEventLoop } from './fit';
import type { Head } from './head';
import { createRandom, type Random } from './random';
import { oneCycle } from './schedule';
import { checkingGpuMemory, GpuOutOfMemory } from '../gpu/memory';
import { compileFirst } from '../gpu/compile';

export interface FineTuneOptions {
  backbone: tf.LayersModel;
  spec: BackboneSpec;
  head: Head;
  train: { images: ScannedImage[]; labels: Int32Array };
  /**
   * Scores the current backbone + head on validation; lower loss is better. Called once after each
   * epoch. fineTune returns with the weights of the epoch that scored the lowest loss.
   */
  validate(): Promise<{ loss: number; accuracy: number }>;
  epochs: number;
  /** The head's learning rate; the backbone's three depth groups get lr/100, lr/30 and lr/10, earliest first (parameterGroups). */
  maxLr: number;
  seed: number;
  batchSize?: number;
  /**
   * Photos per forward/backward pass inside a batch (gradients are summed, so the result is the
   * same): small on slow backends so cancel and pause take effect soon. Default: defaultSliceSize
   * (1 on the cpu backend, 8 on wasm, the whole batch elsewhere).
   */
  sliceSize?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  /** Numbering continues after the head's epochs. */
  firstEpoch: number;
  signal?: AbortSignal;
  waitIfPaused?(): Promise<void>;
  onBatch?(info: { epoch: number; batch: number; batches: number; loss: number }): void;
  /**
   * After every slice of photos: photos done out of all epochs' photos, and the time left for
   * them at the pace so far (validation not included). On the cpu backend a batch takes about a
   * minute at 224 pixels, so this is the event that can keep a progress bar moving.
   */
  onProgress?(info: { done: number; total: number; etaSeconds: number | null }): void;
  onEpoch?(metrics: EpochMetrics): void;
}

/**
 * The feature model to fine-tune, optionally at a smaller input size sharing the same weights (the
 * trunk is fully convolutional): tests use 32x32 to stay fast, and the estimate times a small size
 * and scales by pixel count. `model` is always the app's full-size model.
 */
export async function loadTunableBackbone(spec: BackboneSpec, inputSize = spec.inputSize): Promise<{ model: tf.LayersModel; tunable: tf.LayersModel; spec: BackboneSpec }> {
  const model = await loadFeatureModel(spec.id);
  return { model, ...atInputSize(model, spec, inputSize) };
}

/** The same feature model (shared weights: never dispose it separately) taking `inputSize` pixels square. */
export function atInputSize(model: tf.LayersModel, spec: BackboneSpec, inputSize: number): { tunable: tf.LayersModel; spec: BackboneSpec } {
  if (inputSize === spec.inputSize) return { tunable: model, spec };
  const small = { ...spec, inputSize, recipe: { ...spec.recipe, size: inputSize } };
  const trunk = model.getLayer(FEATURE_MODEL_LAYERS.trunk) as unknown as tf.LayersModel;
  return { tunable: buildFeatureModel(trunk, small).model, spec: small };
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

/**
 * Loss and gradients of photos `from`..`to` of a batch, each scaled by that slice's share of the
 * batch, so the slices add up to exactly the batch's mean loss and gradient (BatchNorm uses fixed
 * statistics, so slicing changes nothing else). The caller disposes the gradients.
 */
function sliceGradients(x: tf.Tensor4D, labels: Int32Array, from: number, to: number, backbone: tf.LayersModel, head: Head, variables: tf.Variable[], random: Random | null, smoothing: number) {
  return tf.tidy(() => {
    const part = x.slice([from, 0, 0, 0], [to - from, -1, -1, -1]);
    // BatchNorm keeps its ImageNet statistics (training: false): batches of 16 are too small to re-estimate them.
    const { value, grads } = tf.variableGrads(
      () => tf.mul(headLoss(head.logits(backbone.apply(part, { training: false }) as tf.Tensor2D, random ?? undefined), labels.subarray(from, to), { smoothing }), (to - from) / labels.length) as tf.Scalar,
      variables,
    );
    return { loss: value, grads };
  });
}

/** Adds `grads` into `sum` (taking ownership of both); returns the new sum. */
function accumulate(sum: tf.NamedTensorMap | null, grads: tf.NamedTensorMap): tf.NamedTensorMap {
  if (!sum) return grads;
  const next: tf.NamedTensorMap = {};
  for (const name of Object.keys(grads)) {
    next[name] = tf.add(sum[name]!, grads[name]!);
  }
  tf.dispose([sum, grads]);
  return next;
}

interface BatchStep {
  x: tf.Tensor4D;
  labels: Int32Array;
  backbone: tf.LayersModel;
  head: Head;
  groups: ReturnType<typeof parameterGroups>;
  optimizers: AdamW[];
  random: Random | null;
  smoothing: number;
  /** Photos per forward/backward pass; halved for the rest of the training when the GPU runs out of memory. */
  slice: { size: number };
  signal?: AbortSignal;
  waitIfPaused?(): Promise<void>;
  /** Photos of this batch done so far, after each slice. */
  onSlice?(done: number): void;
}

/** One optimisation step over every group, computed slice by slice; returns the batch loss. */
async function step({ x, labels, backbone, head, groups, optimizers, random, smoothing, slice, signal, waitIfPaused, onSlice }: BatchStep): Promise<number> {
  const variables = groups.flatMap((g) => g.variables);
  let sum: tf.NamedTensorMap | null = null;
  let loss = 0;
  try {
    for (let from = 0; from < labels.length; from += slice.size) {
      if (from > 0) {
        await yieldToEventLoop();
        await waitIfPaused?.();
        signal?.throwIfAborted();
      }
      const to = Math.min(labels.length, from + slice.size);
      await compileFirst(`fine-tune ${backbone.id} ${x.shape.slice(1)} x${to - from}`, () => {
        const { loss, grads } = sliceGradients(x, labels, from, to, backbone, head, variables, null, smoothing);
        return [loss, ...Object.values(grads)];
      });
      // Held outside the check so that a slice the card could not hold is disposed, not leaked.
      const slot: { part?: ReturnType<typeof sliceGradients> } = {};
      let partLoss: number;
      try {
        partLoss = await checkingGpuMemory(`training on ${to - from} photos at once`, async () => {
          slot.part = sliceGradients(x, labels, from, to, backbone, head, variables, random, smoothing);
          return (await slot.part.loss.data())[0]!; // async: WebGPU in Node has no synchronous read
        });
      } catch (error) {
        // Whether the slice threw or the card reported running out of memory after it: its tensors go.
        if (slot.part) tf.dispose([slot.part.loss, slot.part.grads]);
        // Out of graphics memory: the slices add up to the same batch gradient whatever their size,
        // so redo this one with half the photos (and keep that size for the rest of the training).
        if (!(error instanceof GpuOutOfMemory) || to - from === 1) throw error;
        slice.size = Math.max(1, Math.floor((to - from) / 2));
        from -= slice.size; // the loop adds it back: this slice again, smaller
        continue;
      }
      loss += partLoss;
      slot.part!.loss.dispose();
      sum = accumulate(sum, slot.part!.grads);
      onSlice?.(to);
    }
    const grads = sum!;
    groups.forEach((g, i) => optimizers[i]!.applyGradients(g.variables.map((v) => ({ name: v.name, tensor: grads[v.name]! }))));
    return loss;
  } finally {
    if (sum) tf.dispose(sum);
  }
}

/**
 * Photos per forward/backward pass on `backend`. cpu: 1 (a 224-pixel photo takes seconds; measured
 * here, one photo per pass 3.3 s, four per pass 4.3 s per photo). wasm: 8 — MobileNetV2-0.35 keeps
 * ~100 MB of activations per photo for the backward pass, so 16 per pass grew the heap to 1.55 GB
 * against 0.82 GB for 8, at the same CPU time per photo (49-59 vs 54-58 ms; 4 per pass: 70-91 ms),
 * and a slice of 8 ends within about half a second for a cancel.
 */
export function defaultSliceSize(backend: string, batchSize: number): number {
  if (backend === 'cpu') return 1;
  if (backend === 'wasm') return Math.min(8, batchSize);
  return batchSize;
}

/** Weight decay on convolution and dense kernels only: decaying BatchNorm's scale and shift, or biases, only hurts. */
const decaysKernels = (name: string) => /kernel/i.test(name);

export interface FineTuneResult {
  /** Every fine-tune epoch's metrics, in order. */
  epochs: EpochMetrics[];
  /** The epoch whose weights fineTune left in place: the lowest validation loss (a tie: the later). */
  kept: EpochMetrics;
}

/**
 * Trains backbone and head end to end for `epochs` epochs, then puts back the weights of the epoch
 * with the lowest validation loss (like head training keeps its best epoch): a later epoch can undo
 * an earlier gain.
 */
export async function fineTune(options: FineTuneOptions): Promise<FineTuneResult> {
  const { backbone, spec, head, train, epochs, maxLr, seed, batchSize = TRAIN_DEFAULTS.fineTuneBatchSize, weightDecay = TRAIN_DEFAULTS.weightDecay, labelSmoothing = 0 } = options;
  const slice = { size: Math.max(1, Math.min(batchSize, options.sliceSize ?? defaultSliceSize(tf.getBackend(), batchSize))) };
  const random = createRandom(seed + 1);
  const groups = parameterGroups(backbone, head);
  const optimizers = groups.map(() => new AdamW(0, weightDecay, { decays: decaysKernels }));
  const n = train.images.length;
  const batches = Math.ceil(n / batchSize);
  const schedule = oneCycle({ maxLr, totalSteps: epochs * batches });
  const history: EpochMetrics[] = [];
  let stepIndex = 0;
  // Pace for the progress estimate: photos trained and the seconds they took (decoding included, validation not).
  let photosDone = 0;
  let trainingSeconds = 0;
  const variables = groups.flatMap((g) => g.variables);
  // The weights of the epoch with the lowest validation loss so far (clones share memory until the
  // optimizer assigns new values to the variables).
  let best: { metrics: EpochMetrics; weights: tf.Tensor[] } | null = null;
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
        const batchStarted = performance.now();
        const x = await pixelBatch(rows.map((i) => train.images[i]!), spec, random);
        const lr = schedule(stepIndex++);
        groups.forEach((g, i) => optimizers[i]!.setLearningRate(lr * g.lrMultiplier));
        try {
          const loss = await step({
            x,
            labels: Int32Array.from(rows, (i) => train.labels[i]!),
            backbone,
            head,
            groups,
            optimizers,
            random,
            smoothing: labelSmoothing,
            slice,
            signal: options.signal,
            waitIfPaused: options.waitIfPaused,
            onSlice: (done) => {
              const seconds = trainingSeconds + (performance.now() - batchStarted) / 1000;
              const total = epochs * n;
              const sofar = photosDone + done;
              options.onProgress?.({ done: sofar, total, etaSeconds: sofar > 0 ? (seconds / sofar) * (total - sofar) : null });
            },
          });
          photosDone += rows.length;
          trainingSeconds += (performance.now() - batchStarted) / 1000;
          lossSum += loss * rows.length;
          options.onBatch?.({ epoch, batch: b + 1, batches, loss });
        } finally {
          x.dispose();
        }
      }
      options.signal?.throwIfAborted();
      const valid = await options.validate();
      const metrics: EpochMetrics = { epoch, trainLoss: lossSum / n, validLoss: valid.loss, accuracy: valid.accuracy, seconds: (performance.now() - started) / 1000, lr: optimizers.at(-1)!.getLearningRate(), stage: 'fine-tune' };
      history.push(metrics);
      options.onEpoch?.(metrics);
      // A tie goes to the later epoch, which has trained longer.
      if (!best || valid.loss <= best.metrics.validLoss) {
        if (best) tf.dispose(best.weights);
        best = { metrics, weights: variables.map((v) => tf.clone(v)) };
      }
    }
    const kept = best!; // epochs >= 1, and every epoch was scored
    if (kept.metrics !== history.at(-1)) variables.forEach((v, i) => v.assign(kept.weights[i]!));
    return { epochs: history, kept: kept.metrics };
  } finally {
    optimizers.forEach((o) => o.dispose());
    if (best) tf.dispose(best.weights);
  }
}
