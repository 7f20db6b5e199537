// The two recipes the accuracy benches compare, each trained on a TrainingSet (cached features) and
// returned as a predictor, so bench/accuracy.ts (the dataset's own test photos) and bench/holdout.ts
// (many random re-splits of the training photos) score exactly the same code.
import * as tf from '@tensorflow/tfjs';
import type { Rows, TrainingSet } from '../src/engine/train/batches';
import { TRAIN_DEFAULTS } from '../src/engine/train/defaults';
import { predictProbabilities } from '../src/engine/train/evaluate';
import { fitHead } from '../src/engine/train/fit';
import { findLearningRate } from '../src/engine/train/lr-finder';

export interface Trained {
  /** Class probabilities for each row; `flip` (the mirrored photos) is used where the recipe does TTA. */
  predict(rows: Rows, flip: Rows | null): Promise<Float32Array>;
  /** Training time, LR finder included. */
  seconds: number;
  lr: number | null;
  bestEpoch: number | null;
  /** Validation loss at the kept epoch (null where the recipe keeps no validation photos). */
  validLoss: number | null;
  dispose(): void;
}

/**
 * Teachable Machine's recipe: dense(100, relu) -> dense(softmax), Adam 1e-3, batch 16, 50 epochs,
 * fitted the way its trainer does (tf.layers fit), centre-crop features only (no augmentation, no TTA).
 */
export async function teachableMachine(set: TrainingSet, seed: number): Promise<Trained> {
  const classes = set.classes.length;
  const init = (s: number) => tf.initializers.varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: s });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 100, activation: 'relu', inputShape: [set.dim], kernelInitializer: init(seed) }),
      tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(seed + 1) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const n = set.train.labels.length;
  const x = tf.tensor2d(set.train.data, [n, set.dim]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(set.train.labels, 'int32'), classes).toFloat());
  const started = performance.now();
  await model.fit(x, y, { batchSize: 16, epochs: 50, shuffle: true, verbose: 0 });
  const seconds = (performance.now() - started) / 1000;
  tf.dispose([x, y]);
  return {
    predict: async (rows) => {
      const out = tf.tidy(() => model.predict(tf.tensor2d(rows.data, [rows.labels.length, set.dim])) as tf.Tensor);
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    },
    seconds,
    lr: 1e-3,
    bestEpoch: null,
    validLoss: null,
    dispose: () => model.dispose(),
  };
}

/** A Foldwise training recipe: the engine's defaults, or a candidate bench/recipe.ts tries. */
export type FoldwiseRecipe = Pick<typeof TRAIN_DEFAULTS, 'head' | 'epochs' | 'batchSize' | 'weightDecay' | 'labelSmoothing' | 'lrSuggestion'>;

/** Foldwise's recipe (by default src/engine/train/defaults.ts): LR finder, one-cycle AdamW head, best epoch by validation loss, TTA. */
export async function foldwise(set: TrainingSet, seed: number, recipe: FoldwiseRecipe = TRAIN_DEFAULTS): Promise<Trained> {
  const { head, batchSize, weightDecay, epochs, labelSmoothing } = recipe;
  const started = performance.now();
  const lr = await findLearningRate(set, { head, seed, batchSize, weightDecay, choose: recipe.lrSuggestion });
  const fit = await fitHead(set, { head, epochs, maxLr: lr.suggestion, seed, batchSize, weightDecay, labelSmoothing });
  return {
    predict: (rows, flip) => predictProbabilities(fit.head, rows, flip),
    seconds: (performance.now() - started) / 1000,
    lr: lr.suggestion,
    bestEpoch: fit.bestEpoch,
    validLoss: fit.epochs.find((e) => e.epoch === fit.bestEpoch)?.validLoss ?? null,
    dispose: () => fit.head.dispose(),
  };
}
