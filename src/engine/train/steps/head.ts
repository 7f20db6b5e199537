// Step 2: the learning rate (found, or as given) and the head trained on the cached features with a
// one-cycle schedule, keeping its best epoch.
import type { EpochMetrics, LrCurve } from '../../../shared/types';
import type { TrainingSet } from '../batches';
import { TRAIN_DEFAULTS } from '../defaults';
import { fitHead } from '../fit';
import type { Head } from '../head';
import { reportProgress, type JobContext } from '../job';
import { findLearningRate } from '../lr-finder';

export interface HeadOptions {
  lr: number | 'auto';
  epochs: number;
  seed: number;
  labelSmoothing: number;
  tta: boolean;
  /** Fine-tuning follows: the head's pace says nothing about the time left, so none is shown. */
  moreAfter?: boolean;
  onEpoch(metrics: EpochMetrics): void;
}

export interface HeadStep {
  head: Head;
  lr: number;
  epochs: EpochMetrics[];
  bestEpoch: number;
  warnings: string[];
}

/** The LR finder with the recipe's head and batch settings (also 'train/find-lr' on its own). */
export function findLearningRateFor(set: TrainingSet, seed: number, ctx: JobContext): Promise<LrCurve> {
  return findLearningRate(set, {
    head: TRAIN_DEFAULTS.head,
    seed,
    batchSize: TRAIN_DEFAULTS.batchSize,
    weightDecay: TRAIN_DEFAULTS.weightDecay,
    choose: TRAIN_DEFAULTS.lrSuggestion,
    signal: ctx.signal,
    onStep: (step, steps) => reportProgress(ctx, 'lr-find', step, steps),
  });
}

/** The caller disposes the returned head. */
export async function trainHead(set: TrainingSet, options: HeadOptions, ctx: JobContext): Promise<HeadStep> {
  const lr = options.lr === 'auto' ? (await findLearningRateFor(set, options.seed, ctx)).suggestion : options.lr;
  const { epochs } = options;
  const batches = Math.ceil(set.train.labels.length / TRAIN_DEFAULTS.batchSize);
  const fit = await fitHead(set, {
    head: TRAIN_DEFAULTS.head,
    epochs,
    maxLr: lr,
    seed: options.seed,
    batchSize: TRAIN_DEFAULTS.batchSize,
    weightDecay: TRAIN_DEFAULTS.weightDecay,
    labelSmoothing: options.labelSmoothing,
    tta: options.tta,
    signal: ctx.signal,
    waitIfPaused: ctx.waitIfPaused,
    onBatch: (b) => {
      ctx.emit('train/batch', { job: ctx.job, ...b, epochs, stage: 'head' });
      const left = options.moreAfter ? { etaSeconds: null } : {};
      reportProgress(ctx, 'train', (b.epoch - 1) * batches + b.batch, epochs * batches, { ...left, message: `epoch ${b.epoch}/${epochs}` });
    },
    onEpoch: (metrics) => {
      ctx.emit('train/epoch', { job: ctx.job, metrics });
      options.onEpoch(metrics);
    },
  });
  return { head: fit.head, lr, epochs: fit.epochs, bestEpoch: fit.bestEpoch, warnings: fit.warnings };
}
