// Training the head on cached features: one-cycle schedule, AdamW, augmented views as extra
// rows, class weights when imbalanced, TTA on validation, and the best epoch kept (by validation
// loss, see bestEpochOf: accuracy on a small validation set moves in coarse steps and ties often).
import * as tf from '@tensorflow/tfjs';
import type { EpochMetrics } from '../../shared/types';
import { AdamW } from './adamw';
import { classWeights, epochBatches, headLoss, rowCount, type TrainingSet } from './batches';
import { predictProbabilities, score } from './evaluate';
import { createHead, type Head, type HeadSpec } from './head';
import { createRandom } from './random';
import { oneCycle } from './schedule';

export interface FitOptions {
  head: Omit<HeadSpec, 'inputDim' | 'classes'>;
  epochs: number;
  maxLr: number;
  seed: number;
  batchSize?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  /** 'auto' weights classes by inverse frequency when they are imbalanced. */
  classWeighting?: 'auto' | 'none';
  /** Average centre and flip on validation when flip features exist. */
  tta?: boolean;
  signal?: AbortSignal;
  /** Awaited before every batch: resolves at once unless the user paused. */
  waitIfPaused?(): Promise<void>;
  onBatch?(info: { epoch: number; batch: number; batches: number; loss: number }): void;
  onEpoch?(metrics: EpochMetrics): void;
}

export interface FitResult {
  /** The head with the best epoch's weights. The caller disposes it. */
  head: Head;
  epochs: EpochMetrics[];
  bestEpoch: number;
  warnings: string[];
  classWeights: number[] | null;
}

/** Lets queued messages (a cancel, a pause) in before the next piece of synchronous tensor work. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Epochs where validation loss rose (by more than 2% over two epochs) while training loss fell in
 * both: the signature of memorising the training photos rather than noise on a small validation set.
 */
export function overfittingEpochs(epochs: Pick<EpochMetrics, 'epoch' | 'trainLoss' | 'validLoss'>[]): number[] {
  const flagged: number[] = [];
  for (let i = 2; i < epochs.length; i++) {
    const [a, b, c] = [epochs[i - 2]!, epochs[i - 1]!, epochs[i]!];
    const rising = c.validLoss > b.validLoss && b.validLoss > a.validLoss && c.validLoss > 1.02 * a.validLoss;
    if (rising && c.trainLoss < b.trainLoss && b.trainLoss < a.trainLoss) flagged.push(c.epoch);
  }
  return flagged;
}

/**
 * The epoch to keep: lowest validation loss, except that a later epoch within 1% of it wins,
 * because one-cycle's last epochs (lowest learning rate) are the settled ones and the difference
 * is within noise.
 */
export function bestEpochOf(epochs: Pick<EpochMetrics, 'epoch' | 'validLoss'>[]): number | null {
  // An epoch whose loss is not a number (training blew up) can never be the one kept.
  const scored = epochs.filter((e) => Number.isFinite(e.validLoss));
  const lowest = Math.min(...scored.map((e) => e.validLoss));
  return scored.filter((e) => e.validLoss <= lowest * 1.01).at(-1)?.epoch ?? null;
}

export async function fitHead(set: TrainingSet, options: FitOptions): Promise<FitResult> {
  const { epochs, maxLr, seed, batchSize = 64, weightDecay = 0.01, labelSmoothing = 0, tta = true } = options;
  const n = rowCount(set.train);
  if (n === 0) throw new Error('There are no training images.');
  const classes = set.classes.length;
  const random = createRandom(seed);
  const head = createHead({ ...options.head, inputDim: set.dim, classes }, random);
  const weights = options.classWeighting === 'none' ? null : classWeights(set.train.labels, classes);
  const batches = Math.ceil(n / batchSize);
  const schedule = oneCycle({ maxLr, totalSteps: epochs * batches });
  const optimizer = new AdamW(schedule(0), weightDecay);
  const history: EpochMetrics[] = [];
  let bestWeights: Float32Array[] | null = null;
  let step = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const started = performance.now();
      let lossSum = 0;
      let seen = 0;
      let correct = 0;
      let batch = 0;
      for (const { x, y } of epochBatches(set, batchSize, random)) {
        await options.waitIfPaused?.();
        options.signal?.throwIfAborted();
        optimizer.setLearningRate(schedule(step++));
        const [cost, argMax] = tf.tidy(() => {
          let logits: tf.Tensor2D | null = null;
          const cost = optimizer.minimize(
            () => {
              // Kept past the gradient's own tidy to count training accuracy; disposed below.
              logits = tf.keep(head.trainingLogits(x, y.length, random));
              return headLoss(logits, y, { smoothing: labelSmoothing, weights });
            },
            true,
            head.variables,
          );
          const kept = logits as unknown as tf.Tensor2D;
          const classesPredicted = tf.argMax(kept, 1);
          kept.dispose();
          return [cost!, classesPredicted] as const;
        });
        // Read asynchronously: WebGPU in Node has no synchronous read.
        const [loss, predicted] = await Promise.all([cost.data().then((d) => d[0]!), argMax.data()]);
        tf.dispose([cost, argMax]);
        for (let k = 0; k < y.length; k++) if (predicted[k] === y[k]) correct++;
        lossSum += loss * y.length;
        seen += y.length;
        options.onBatch?.({ epoch, batch: ++batch, batches, loss });
        // Lets cancel and pause messages in between batches.
        if (batch % 4 === 0) await yieldToEventLoop();
      }
      const hasValid = rowCount(set.valid) > 0;
      const valid = hasValid ? score(await predictProbabilities(head, set.valid, tta ? set.validFlip : null), set.valid.labels, classes) : { accuracy: 0, loss: lossSum / seen };
      const metrics: EpochMetrics = {
        epoch,
        trainLoss: lossSum / seen,
        validLoss: valid.loss,
        accuracy: valid.accuracy,
        trainAccuracy: correct / seen,
        seconds: (performance.now() - started) / 1000,
        lr: optimizer.getLearningRate(),
        stage: 'head',
      };
      history.push(metrics);
      // The epoch bestEpochOf keeps only ever changes to the newest one (an epoch that does not
      // qualify leaves the lowest loss, and so the choice, as it was): one copy of weights is enough.
      if (bestEpochOf(history) === epoch) bestWeights = await head.snapshot();
      options.onEpoch?.(metrics);
      await yieldToEventLoop();
    }
  } catch (error) {
    head.dispose();
    throw error;
  } finally {
    optimizer.dispose();
  }
  const bestEpoch = bestEpochOf(history);
  if (bestEpoch === null || !bestWeights) {
    head.dispose();
    throw new Error(`Training blew up: the loss on the checking photos was not a number in every epoch. Choose a smaller learning rate (this run used ${maxLr.toPrecision(2)}).`);
  }
  head.restore(bestWeights);
  const warnings: string[] = [];
  const overfit = overfittingEpochs(history);
  if (overfit.length > 0) {
    warnings.push(
      `Validation loss rose while training loss fell (epoch ${overfit.join(', ')}): the model may be memorising the training photos. ` +
        `Foldwise kept epoch ${bestEpoch}, the one with the lowest validation loss; fewer epochs or more photos may help.`,
    );
  }
  return { head, epochs: history, bestEpoch, warnings, classWeights: weights ? Array.from(weights) : null };
}
