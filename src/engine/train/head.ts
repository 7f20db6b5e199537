// The classifier head that sits on the cached backbone features: dropout + dense softmax, or one
// hidden ReLU layer when `hidden` > 0. Weights are plain variables so the training loop owns
// dropout (seeded per step) and the optimiser; buildHeadModel() turns them into a tfjs layers
// model for saving and for the app to load.
import * as tf from '@tensorflow/tfjs';
import type { Random } from './random';

export interface HeadSpec {
  inputDim: number;
  classes: number;
  /** Hidden units; 0 means a single dense softmax layer. */
  hidden: number;
  /** Dropout before each dense layer while training. */
  dropout: number;
}

export interface Head {
  spec: HeadSpec;
  variables: tf.Variable[];
  /** Logits [N, classes]; dropout only when `random` is given. Call inside tf.tidy. */
  logits(x: tf.Tensor2D, random?: Random): tf.Tensor2D;
  /**
   * Logits with dropout for a training batch of cached features (`rows` x inputDim, plain data
   * that is not trained through). The same values as logits(x, random), with a faster gradient.
   * Dropout scales `batch` in place: pass a copy made for this step. Call inside tf.tidy.
   */
  trainingLogits(batch: Float32Array, rows: number, random: Random): tf.Tensor2D;
  /** Copies of the current weights, to keep the best epoch. */
  snapshot(): Promise<Float32Array[]>;
  restore(weights: Float32Array[]): void;
  dispose(): void;
}

let headCount = 0;

/**
 * Up to this many classes a linear head keeps the stock gradient (cheap when narrow, and the numbers of
 * runs made before stay the same); wider ones take the transposed detour in trainingLogits.
 */
const DIRECT_GRADIENT_CLASSES = 8;

/** Uniform init in [-limit, limit] from our own seeded source, so runs repeat exactly. */
function uniform(random: Random, size: number, limit: number): Float32Array {
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (random.next() * 2 - 1) * limit;
  return values;
}

/**
 * Inverted-dropout mask drawn from our seeded source: tf.dropout's own seeded generator is
 * deterministic too, but about twenty times slower on the cpu backend.
 */
function dropoutMask([rows, cols]: [number, number], rate: number, random: Random): tf.Tensor2D {
  const keep = 1 - rate;
  return tf.tensor2d(random.mask(rows * cols, keep, 1 / keep), [rows, cols]);
}

export function createHead(spec: HeadSpec, random: Random): Head {
  const id = `foldwise_head_${++headCount}`;
  const layers: [number, number][] = spec.hidden > 0 ? [[spec.inputDim, spec.hidden], [spec.hidden, spec.classes]] : [[spec.inputDim, spec.classes]];
  const variables: tf.Variable[] = [];
  layers.forEach(([fanIn, fanOut], i) => {
    const last = i === layers.length - 1;
    // Kaiming for the ReLU layer, Glorot for the softmax layer (what Keras and fast.ai use).
    const limit = last ? Math.sqrt(6 / (fanIn + fanOut)) : Math.sqrt(6 / fanIn);
    const kernel = uniform(random, fanIn * fanOut, limit);
    // tf.variable copies its initial value, so the initial tensors are tidied away.
    variables.push(tf.tidy(() => tf.variable(tf.tensor2d(kernel, [fanIn, fanOut]), true, `${id}/dense_${i}/kernel`)));
    variables.push(tf.tidy(() => tf.variable(tf.zeros([fanOut]), true, `${id}/dense_${i}/bias`)));
  });
  const dropout = (x: tf.Tensor2D, random?: Random) => (random && spec.dropout > 0 ? tf.mul(x, dropoutMask(x.shape, spec.dropout, random)) : x);
  /** Layers from `first` on, applied to h (the input of layer `first`). */
  const layersFrom = (first: number, h: tf.Tensor2D, random?: Random) => {
    for (let i = first * 2; i < variables.length; i += 2) {
      if (i > 0) h = tf.relu(h);
      h = tf.add(tf.matMul(dropout(h, random), variables[i] as tf.Tensor2D), variables[i + 1]!) as tf.Tensor2D;
    }
    return h;
  };
  return {
    spec,
    variables,
    logits: (x, random) => layersFrom(0, x, random),
    trainingLogits(batch, rows, random) {
      const keep = 1 - spec.dropout;
      const x = tf.tensor2d(spec.dropout > 0 ? random.dropout(batch, keep, 1 / keep) : batch, [rows, spec.inputDim]);
      // The stock gradient of x·W with respect to W is a matMul with x transposed. tfjs-wasm runs
      // that ~20x slower than a plain one when W is wide (34 ms against 1.8 ms for 64x1280 by 128
      // here; a linear head of 150 classes is as wide), but it is cheap for a few classes, so a
      // hidden layer or a wide linear head takes the detour: its kernel's gradient multiplies by an
      // explicit transpose of the batch instead.
      if (spec.hidden === 0 && spec.classes <= DIRECT_GRADIENT_CLASSES) return layersFrom(0, x);
      const firstLayer = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const [kernel, save] = args as [tf.Tensor, tf.GradSaveFunc];
        save([tf.transpose(x)]); // kept for the gradient, which runs after the forward pass's tensors are freed
        return { value: tf.matMul(x, kernel as tf.Tensor2D), gradFunc: (dy, [transposed]) => tf.matMul(transposed as tf.Tensor2D, dy as tf.Tensor2D) };
      });
      const h = tf.add(firstLayer(variables[0]!), variables[1]!) as tf.Tensor2D;
      return layersFrom(1, h, random);
    },
    snapshot: async () => (await Promise.all(variables.map((v) => v.data() as Promise<Float32Array>))).map((d) => d.slice()),
    restore(weights) {
      variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i]!, v.shape))));
    },
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}

/** The head as a tfjs layers model ([N, inputDim] -> softmax [N, classes]) with the current weights. */
export function buildHeadModel(head: Head): tf.LayersModel {
  const { spec } = head;
  const model = tf.sequential();
  if (spec.hidden > 0) model.add(tf.layers.dense({ units: spec.hidden, activation: 'relu', inputShape: [spec.inputDim], name: 'hidden' }));
  model.add(tf.layers.dense({ units: spec.classes, activation: 'softmax', inputShape: spec.hidden > 0 ? undefined : [spec.inputDim], name: 'classes' }));
  model.setWeights(head.variables);
  return model;
}
