// Probabilities and scores for a split, with test-time augmentation (mean of centre and flip).
import * as tf from '@tensorflow/tfjs';
import type { Head } from './head';
import { rowCount, type Rows } from './batches';
import { argmax } from '../../shared/argmax';

/**
 * Softmax probabilities [N * classes], averaged over the centre and flipped features when given.
 * Read back asynchronously: WebGPU in Node has no synchronous read (tfjs's needs a browser canvas).
 */
export async function predictProbabilities(head: Head, rows: Rows, flip: Rows | null = null, batchSize = 1024): Promise<Float32Array> {
  const n = rowCount(rows);
  const classes = head.spec.classes;
  const out = new Float32Array(n * classes);
  const views = flip && rowCount(flip) === n ? [rows, flip] : [rows];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const probs = tf.tidy(() => {
      const sum = views
        .map((v) => tf.softmax(head.logits(tf.tensor2d(v.data.subarray(start * v.dim, (start + size) * v.dim), [size, v.dim]))))
        .reduce((a, b) => tf.add(a, b));
      return tf.div(sum, views.length);
    });
    out.set(await probs.data(), start * classes);
    probs.dispose();
  }
  return out;
}

/** Accuracy and mean cross-entropy of probabilities against labels. */
export function score(probabilities: Float32Array, labels: Int32Array, classes: number): { accuracy: number; loss: number } {
  const n = labels.length;
  if (n === 0) return { accuracy: 0, loss: 0 };
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    if (argmax(probabilities, i * classes, classes) === labels[i]) correct++;
    loss -= Math.log(Math.max(probabilities[i * classes + labels[i]!]!, 1e-7));
  }
  return { accuracy: correct / n, loss: loss / n };
}
