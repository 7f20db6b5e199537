// Running a tfjs model and reading its answer into plain numbers, leaving no tensors behind: the
// step behind feature extraction, the predictor, export verification and their workers.
import * as tf from '@tensorflow/tfjs';
import { compileFirst } from './gpu/compile';

/** A layers model (the app's own) or a graph model (a TF.js export): one input, one output. */
export type TfjsModel = tf.LayersModel | tf.GraphModel;

/** Runs `model` on the tensor `input()` builds and returns the output in an array of its own (safe to transfer to another thread). */
export async function predictArray(model: TfjsModel, input: () => tf.Tensor): Promise<Float32Array> {
  const y = tf.tidy(() => model.predict(input()) as tf.Tensor);
  try {
    return new Float32Array((await y.data()) as Float32Array);
  } finally {
    y.dispose();
  }
}

/** `predictArray` for `n` photos of pixels (NHWC, 0-255) of the model's input size. */
export async function predictPixels(model: TfjsModel, pixels: Uint8Array | Float32Array, n: number): Promise<Float32Array> {
  const [, height, width, channels] = model.inputs[0]!.shape as number[];
  const shape: [number, number, number, number] = [n, height!, width!, channels!];
  await compileFirst(`predict ${modelKey(model)} ${shape}`, () => model.predict(tf.zeros(shape)) as tf.Tensor);
  const values = pixels instanceof Float32Array ? pixels : Float32Array.from(pixels);
  return predictArray(model, () => tf.tensor4d(values, shape));
}

/** A name for each model object, for compileFirst's record of what was compiled (graph models have no id). */
const keys = new WeakMap<TfjsModel, number>();
let lastKey = 0;
function modelKey(model: TfjsModel): number {
  if (!keys.has(model)) keys.set(model, ++lastKey);
  return keys.get(model)!;
}
