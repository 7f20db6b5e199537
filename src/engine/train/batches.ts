// Turning cached feature matrices into training batches, and the loss the head is trained with.
import * as tf from '@tensorflow/tfjs';
import type { Random } from './random';

/** The part of a FeatureMatrix the math needs: row i is data[i*dim .. (i+1)*dim). */
export interface Rows {
  dim: number;
  data: Float32Array;
  labels: Int32Array;
}

/** What the head trains on: centre features, augmented views of the same rows, and validation (+ flip for TTA). */
export interface TrainingSet {
  classes: string[];
  dim: number;
  train: Rows;
  trainViews: Rows[];
  valid: Rows;
  validFlip: Rows | null;
}

export const rowCount = (rows: Rows) => rows.labels.length;

/**
 * One epoch's batches: each image appears once, as its centre crop or one of its augmented views
 * chosen at random, so views add variety without making epochs longer.
 */
export function* epochBatches(set: TrainingSet, batchSize: number, random: Random): Generator<{ x: Float32Array; y: Int32Array }> {
  const n = rowCount(set.train);
  const order = random.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const sources = [set.train, ...set.trainViews];
  const dim = set.dim;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const x = new Float32Array(size * dim);
    const y = new Int32Array(size);
    for (let k = 0; k < size; k++) {
      const row = order[start + k]!;
      const source = sources[sources.length > 1 ? random.int(sources.length) : 0]!;
      x.set(source.data.subarray(row * dim, (row + 1) * dim), k * dim);
      y[k] = set.train.labels[row]!;
    }
    yield { x, y };
  }
}

/**
 * Inverse-frequency class weights (n / (classes * count)) when the largest class has more than
 * `ratio` times the images of the smallest; null when the classes are balanced enough.
 */
export function classWeights(labels: Int32Array, classes: number, ratio = 1.5): Float32Array | null {
  const counts = new Array<number>(classes).fill(0);
  for (const label of labels) counts[label]!++;
  const present = counts.filter((c) => c > 0);
  if (present.length === 0 || Math.max(...present) <= ratio * Math.min(...present)) return null;
  return Float32Array.from(counts, (c) => (c > 0 ? labels.length / (classes * c) : 0));
}

/**
 * Mean cross-entropy with optional label smoothing and class weights (weighted mean, as PyTorch
 * does). Call inside tf.tidy.
 */
export function headLoss(logits: tf.Tensor2D, labels: Int32Array, { smoothing = 0, weights = null as Float32Array | null } = {}): tf.Scalar {
  const classes = logits.shape[1];
  let targets = tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat();
  if (smoothing > 0) targets = tf.add(tf.mul(targets, 1 - smoothing), smoothing / classes);
  const perRow = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1));
  if (!weights) return tf.mean(perRow);
  const w = tf.tensor1d(Float32Array.from(labels, (l) => weights[l]!));
  return tf.div(tf.sum(tf.mul(perRow, w)), tf.sum(w));
}
