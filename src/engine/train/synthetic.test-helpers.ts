// Tiny synthetic feature sets for the math tests: Gaussian blobs, one per class.
import type { Rows, TrainingSet } from './batches';
import { createRandom } from './random';

function gaussian(random: ReturnType<typeof createRandom>): number {
  const u = Math.max(random.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

/** `perClass` rows per class around class centres `separation` apart, plus `noise` jitter. */
export function blobs(classes: number[], dim: number, seed: number, { separation = 3, centresSeed = 7 } = {}): Rows {
  const centres = createRandom(centresSeed);
  const means = Array.from({ length: Math.max(...classes.map((_, i) => i)) + 1 }, () => Array.from({ length: dim }, () => gaussian(centres) * separation));
  const random = createRandom(seed);
  const n = classes.reduce((a, b) => a + b, 0);
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  let row = 0;
  classes.forEach((count, c) => {
    for (let k = 0; k < count; k++, row++) {
      labels[row] = c;
      for (let d = 0; d < dim; d++) data[row * dim + d] = means[c]![d]! + gaussian(random);
    }
  });
  return { dim, data, labels };
}

/** A ready TrainingSet: `perClass` training rows per class, a third as many validation rows, no views. */
export function syntheticSet(perClass: number[], dim = 16, { separation = 3, views = 0 } = {}): TrainingSet {
  const train = blobs(perClass, dim, 1, { separation });
  return {
    classes: perClass.map((_, i) => `class${i}`),
    dim,
    train,
    trainViews: Array.from({ length: views }, (_, v) => ({ ...train, data: train.data.map((x, i) => x + 0.1 * Math.sin(i + v)) })),
    valid: blobs(perClass.map((c) => Math.ceil(c / 3)), dim, 2, { separation }),
    validFlip: null,
  };
}
