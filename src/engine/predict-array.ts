// Running a tfjs model and reading its answer into plain numbers, leaving no tensors behind: the
// step behind feature extraction, the predictor, export verification and their workers.
import * as tf from '@tensorflow/tfjs';
import { compileFirst } from './gpu/compile';

/** Runs `model` on the tensor `input()` builds and returns the output in an array of its own (safe to transfer to another thread). */
export async function predictArray(model: tf.LayersModel, input: () => tf.Tensor): Promise<Float32Array> {
  const y = tf.tidy(() => model.predict(input()) as tf.Tensor);
  try {
    return new Float32Array((await y.data()) as Float32Array);
  } finally {
    y.dispose();
  }
}

/** `predictArray` for `n` photos of pixels (NHWC, 0-255) of the model's input size. */
export async function predictPixels(model: tf.LayersModel, pixels: Uint8Array | Float32Array, n: number): Promise<Float32Array> {
  const [, height, width, channels] = model.inputs[0]!.shape as number[];
  const shape: [number, number, number, number] = [n, height!, width!, channels!];
  await compileFirst(`predict ${model.id} ${shape}`, () => model.predict(tf.zeros(shape)) as tf.Tensor);
  const values = pixels instanceof Float32Array ? pixels : Float32Array.from(pixels);
  return predictArray(model, () => tf.tensor4d(values, shape));
}
