// Step 3, top of the backbone (--fine-tune top, the default when it fits the time): after the head,
// train the backbone's last blocks above a 7x7 cut together with the head, from every photo's cached
// activations at the cut (features/activations.ts): an epoch decodes nothing and never runs the
// frozen part. Kept only when it beats the head alone on the validation photos; then the tuned feature
// model is saved and every photo's features come from the tuned top, as the app will compute them.
import * as tf from '@tensorflow/tfjs';
import type { EpochMetrics } from '../../../shared/types';
import { loadFeatureModel } from '../../backbones/load';
import { withBackend } from '../../compute';
import { computeActivations, type ActivationRows, type DatasetActivations, type FeatureMatrix } from '../../features';
import { AdamW } from '../adamw';
import type { TrainingSet } from '../batches';
import { headLoss } from '../batches';
import { TRAIN_DEFAULTS } from '../defaults';
import { predictProbabilities, score } from '../evaluate';
import { fitHead, yieldToEventLoop } from '../fit';
import type { Head } from '../head';
import { reportProgress, type JobContext } from '../job';
import { createRandom, type Random } from '../random';
import { oneCycle } from '../schedule';
import { cutOf, TOP_NEED, topOfBackbone, type TopOfBackbone } from '../top-of-backbone';
import { cachedFeatures, type FineTuneInputs, type FineTuneStep } from './fine-tune';
import type { HeadStep } from './head';
import { trainingSet } from './prepare';

/** The recipe's knobs (TRAIN_DEFAULTS.top holds the chosen ones; bench/fine-tune-top.ts compares others). */
export interface TopRecipe {
  epochs: number;
  batchSize: number;
  /** The head's peak learning rate during fine-tuning, as a fraction of the head step's. */
  headLrFactor: number;
  /** The top's peak learning rate as a fraction of the head's (discriminative rates). */
  topLrFactor: number;
  /** Each epoch, each photo's activation map mirrored left-right with probability 1/2 (augmentation at no cost). */
  mirror: boolean;
  /**
   * fast.ai's schedule: tuning starts from a head trained this many epochs (a fresh one, from the
   * features), not from the head step's fully trained one, which already fits the training photos
   * (0: start from the head step's head).
   */
  headEpochs: number;
  /**
   * Batch norm above the cut: null keeps its ImageNet statistics (an affine map); a number trains with
   * each batch's statistics and moves the stored ones toward them at this momentum (Keras's convention:
   * 0.9 keeps 90% of the old value per step).
   */
  batchNormMomentum: number | null;
  /**
   * Train only the top's layers from the first whose name starts with this (for MobileNetV2 'block_16_'
   * or 'Conv_1'): fewer weights to fit to a few hundred photos. null: every layer above the cut.
   */
  trainFrom: string | null;
  /** Train only the batch norms' scales and shifts (a few thousand numbers), not the convolutions. */
  normsOnly: boolean;
}

export interface TopStepOptions extends FineTuneInputs {
  recipe?: Partial<TopRecipe>;
}

export interface TopStep extends FineTuneStep {
  /** The head to save when tuning was kept (the short head it started from, tuned); null: the head step's. */
  head: Head | null;
  cut: string;
  /** Training photos per second over the fine-tune epochs (validation not included). */
  photosPerSecond: number;
  activations: DatasetActivations['stats'];
}

/** Features of activation rows through the top, batch by batch, no gradients. */
export async function topFeatures(top: TopOfBackbone, rows: ActivationRows, dim: number, signal?: AbortSignal): Promise<FeatureMatrix> {
  const n = rows.labels.length;
  const size = top.shape[0] * top.shape[1] * top.shape[2];
  const data = new Float32Array(n * dim);
  for (let start = 0; start < n; start += 128) {
    signal?.throwIfAborted();
    const count = Math.min(128, n - start);
    const y = tf.tidy(() => top.features(tf.tensor4d(rows.data.subarray(start * size, (start + count) * size), [count, ...top.shape])));
    data.set(await y.data(), start * dim);
    y.dispose();
    await yieldToEventLoop();
  }
  return { dim, data, labels: rows.labels, images: rows.images };
}

/** A batch of activation rows as a tensor, each map mirrored left-right when `random` says so. */
function batchOf(rows: ActivationRows, picks: number[], shape: [number, number, number], random: Random | null): tf.Tensor4D {
  const [h, w, c] = shape;
  const size = h * w * c;
  const out = new Float32Array(picks.length * size);
  picks.forEach((row, i) => {
    const src = rows.data.subarray(row * size, (row + 1) * size);
    if (!random || random.next() < 0.5) return out.set(src, i * size);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(src.subarray((y * w + x) * c, (y * w + x + 1) * c), i * size + (y * w + (w - 1 - x)) * c);
  });
  return tf.tensor4d(out, [picks.length, h, w, c]);
}

const decaysKernels = (name: string) => /kernel/i.test(name);

/** The top's variables from the first layer named `from...` on (they are in layer order); all of them when null. */
function trainedLayers(top: TopOfBackbone, from: string | null): tf.Variable[] {
  if (from === null) return top.variables;
  const first = top.variables.findIndex((v) => v.name.split('/').some((part) => part.startsWith(from)));
  if (first < 0) throw new Error(`The top of the backbone has no layer named ${from}... to train from.`);
  return top.variables.slice(first);
}

export async function fineTuneTop(options: TopStepOptions, ctx: JobContext): Promise<TopStep> {
  const { spec, features, trained } = options;
  const recipe: TopRecipe = { ...TRAIN_DEFAULTS.top, ...options.recipe };
  const { head } = trained;
  const cut = cutOf(spec);
  const model = await loadFeatureModel(spec.id);
  let keep = false;
  let tuningHead: Head | null = null;
  try {
    const top = topOfBackbone(model, cut);
    const activations = await computeActivations(features, { cut, shape: top.shape, signal: ctx.signal, onProgress: (p) => reportProgress(ctx, 'features', p.done, p.total, { message: 'activations for fine-tuning' }) });
    const headOnly = { weights: await head.snapshot(), loss: trained.epochs.find((e) => e.epoch === trained.bestEpoch)!.validLoss };
    // The top's backend (top-of-backbone.ts): its layers' convolution gradients.
    const start = recipe.headEpochs > 0 ? await shortHead(trainingSet(features), trained.lr, recipe.headEpochs, options) : null;
    tuningHead = start?.head ?? null;
    const from: HeadStep = start ? { ...trained, head: start.head, epochs: trained.epochs } : trained;
    const result = await withBackend(TOP_NEED, () => trainTop(top, activations, { ...options, trained: from, classes: features.classes.length, dim: features.dim, recipe }, ctx));
    const { kept, epochs, photosPerSecond } = result;
    const base = { cut, photosPerSecond, activations: activations.stats, head: tuningHead };
    if (kept.validLoss >= headOnly.loss && !options.alwaysKeep) {
      head.restore(headOnly.weights);
      base.head = null;
      const warning = `Fine-tuning the top of the backbone did not lower the validation loss (${headOnly.loss.toFixed(3)} before, ${kept.validLoss.toFixed(3)} at best after), so Foldwise kept the model from epoch ${trained.bestEpoch} with the backbone unchanged.`;
      return { ...base, epochs, tuned: null, bestEpoch: trained.bestEpoch, features: cachedFeatures(features), warnings: [warning] };
    }
    const dim = spec.featureSize;
    const tuned = await withBackend(TOP_NEED, async () => ({
      valid: await topFeatures(top, activations.valid, dim, ctx.signal),
      validFlip: activations.validFlip ? await topFeatures(top, activations.validFlip, dim, ctx.signal) : null,
      test: await topFeatures(top, activations.test, dim, ctx.signal),
      testFlip: activations.testFlip ? await topFeatures(top, activations.testFlip, dim, ctx.signal) : null,
      train: await topFeatures(top, activations.train, dim, ctx.signal),
    }));
    keep = true;
    return { ...base, epochs, tuned: model, bestEpoch: kept.epoch, features: tuned, warnings: [] };
  } finally {
    if (!keep) {
      model.dispose();
      tuningHead?.dispose();
    }
  }
}

/** A fresh head trained `epochs` epochs on the features (no time taken to speak of): where tuning starts. */
export async function shortHead(set: TrainingSet, lr: number, epochs: number, options: Pick<TopStepOptions, 'seed' | 'labelSmoothing' | 'tta'>) {
  const { head: spec, batchSize, weightDecay } = TRAIN_DEFAULTS;
  return withBackend('head', () =>
    fitHead(set, { head: spec, epochs, maxLr: lr, seed: options.seed + 3, batchSize, weightDecay, labelSmoothing: options.labelSmoothing, tta: options.tta }),
  );
}

export interface TrainTopOptions {
  trained: HeadStep;
  classes: number;
  dim: number;
  seed: number;
  labelSmoothing: number;
  tta: boolean;
  recipe: TopRecipe;
  onEpoch(metrics: EpochMetrics): void;
}

/**
 * Trains the top and the head from the training activations, validating after each epoch, and
 * leaves the weights of the epoch with the lowest validation loss (benches call this directly).
 */
export async function trainTop(top: TopOfBackbone, activations: Pick<DatasetActivations, 'train' | 'valid' | 'validFlip'>, options: TrainTopOptions, ctx: JobContext) {
  const { trained, recipe } = options;
  const { head } = trained;
  const { epochs, batchSize } = recipe;
  const random = createRandom(options.seed + 2);
  const groups = [
    { variables: trainedLayers(top, recipe.trainFrom).filter((v) => !recipe.normsOnly || /\/(gamma|beta)(_\d+)?$/.test(v.name)), lrMultiplier: recipe.topLrFactor },
    { variables: head.variables, lrMultiplier: 1 },
  ];
  const optimizers = groups.map(() => new AdamW(0, TRAIN_DEFAULTS.weightDecay, { decays: decaysKernels }));
  const variables = groups.flatMap((g) => g.variables);
  const updatesStatistics = recipe.batchNormMomentum !== null;
  // What the kept epoch restores: the weights, and the batch-norm statistics when training moves them.
  const kept = updatesStatistics ? [...variables, ...top.statistics] : variables;
  const momenta = top.batchNorms.map((l) => (l as unknown as { momentum: number }).momentum);
  if (updatesStatistics) top.batchNorms.forEach((l) => ((l as unknown as { momentum: number }).momentum = recipe.batchNormMomentum!));
  const n = activations.train.labels.length;
  const batches = Math.ceil(n / batchSize);
  const schedule = oneCycle({ maxLr: trained.lr * recipe.headLrFactor, totalSteps: epochs * batches });
  const k = options.classes;
  const history: EpochMetrics[] = [];
  let best: { metrics: EpochMetrics; weights: tf.Tensor[] } | null = null;
  let step = 0;
  let trainingSeconds = 0;
  try {
    for (let e = 0; e < epochs; e++) {
      const epoch = trained.epochs.length + 1 + e;
      const started = performance.now();
      const order = random.shuffle(Array.from({ length: n }, (_, i) => i));
      let lossSum = 0;
      for (let b = 0; b < batches; b++) {
        await ctx.waitIfPaused?.();
        ctx.signal.throwIfAborted();
        const picks = order.slice(b * batchSize, (b + 1) * batchSize);
        const lr = schedule(step++);
        groups.forEach((g, i) => optimizers[i]!.setLearningRate(lr * g.lrMultiplier));
        const labels = Int32Array.from(picks, (i) => activations.train.labels[i]!);
        const x = batchOf(activations.train, picks, top.shape, recipe.mirror ? random : null);
        const { value, grads } = tf.variableGrads(() => headLoss(head.logits(top.features(x, { training: updatesStatistics }), random), labels, { smoothing: options.labelSmoothing }), variables);
        x.dispose();
        groups.forEach((g, i) => optimizers[i]!.applyGradients(g.variables.map((v) => ({ name: v.name, tensor: grads[v.name]! }))));
        tf.dispose(grads);
        const loss = (await value.data())[0]!;
        value.dispose();
        lossSum += loss * picks.length;
        ctx.emit('train/batch', { job: ctx.job, epoch, batch: b + 1, batches, loss, stage: 'fine-tune' });
        reportProgress(ctx, 'fine-tune', e * batches + b + 1, epochs * batches, { message: `epoch ${e + 1}/${epochs}` });
        await yieldToEventLoop();
      }
      trainingSeconds += (performance.now() - started) / 1000;
      const valid = await topFeatures(top, activations.valid, options.dim, ctx.signal);
      const flip = options.tta && activations.validFlip ? await topFeatures(top, activations.validFlip, options.dim, ctx.signal) : null;
      const checked = score(await predictProbabilities(head, valid, flip), valid.labels, k);
      const metrics: EpochMetrics = { epoch, trainLoss: lossSum / n, validLoss: checked.loss, accuracy: checked.accuracy, seconds: (performance.now() - started) / 1000, lr: optimizers.at(-1)!.getLearningRate(), stage: 'fine-tune' };
      history.push(metrics);
      ctx.emit('train/epoch', { job: ctx.job, metrics });
      options.onEpoch(metrics);
      // A tie goes to the later epoch, which has trained longer.
      if (!best || checked.loss <= best.metrics.validLoss) {
        if (best) tf.dispose(best.weights);
        best = { metrics, weights: kept.map((v) => tf.clone(v)) };
      }
    }
    const chosen = best!;
    if (chosen.metrics !== history.at(-1)) kept.forEach((v, i) => v.assign(chosen.weights[i]!));
    return { epochs: history, kept: chosen.metrics, photosPerSecond: trainingSeconds > 0 ? (n * epochs) / trainingSeconds : 0 };
  } finally {
    top.batchNorms.forEach((l, i) => ((l as unknown as { momentum: number }).momentum = momenta[i]!));
    optimizers.forEach((o) => o.dispose());
    if (best) tf.dispose(best.weights);
  }
}
