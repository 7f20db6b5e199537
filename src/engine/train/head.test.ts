import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { switchBackend } from '../compute';
import { createHead } from './head';
import { createRandom } from './random';

beforeAll(async () => {
  await switchBackend('head');
});

describe('training logits', () => {
  // A linear head of 3 classes keeps the stock gradient; of 40 (a big folder) it takes the detour.
  for (const [hidden, classes] of [[0, 3], [16, 3], [0, 40]] as const) {
    it(`match the stock path in value and gradient (hidden ${hidden}, ${classes} classes)`, () => {
      const [rows, dim] = [7, 24];
      const data = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i * 0.37));
      const head = createHead({ inputDim: dim, classes, hidden, dropout: 0.3 }, createRandom(1));
      // The same seed draws the same dropout masks on both paths.
      const lossOf = (logits: tf.Tensor2D) => tf.sum(tf.mul(logits, tf.linspace(-1, 1, logits.size).reshape(logits.shape)));
      const fast = tf.variableGrads(() => lossOf(head.trainingLogits(data.slice(), rows, createRandom(9))) as tf.Scalar, head.variables);
      const stock = tf.variableGrads(() => lossOf(head.logits(tf.tensor2d(data, [rows, dim]), createRandom(9))) as tf.Scalar, head.variables);
      expect(fast.value.dataSync()[0]).toBeCloseTo(stock.value.dataSync()[0]!, 4);
      for (const v of head.variables) {
        const a = fast.grads[v.name]!.dataSync();
        const b = stock.grads[v.name]!.dataSync();
        expect(Math.max(...b.map((x) => Math.abs(x)))).toBeGreaterThan(0);
        expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))).toBeLessThan(1e-4);
      }
      tf.dispose([fast.value, stock.value, ...Object.values(fast.grads), ...Object.values(stock.grads)]);
      head.dispose();
    });
  }
});
