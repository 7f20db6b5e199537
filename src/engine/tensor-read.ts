// Reading tensors back from any backend. tfjs's synchronous reads (dataSync, arraySync) need a
// browser canvas on WebGPU, which Node lacks, so the engine reads asynchronously everywhere it may
// run on WebGPU. An async read also leaves the values cached on the CPU, which makes a later
// synchronous read of the same tensor work: `readable` uses that for code that must stay synchronous.
import * as tf from '@tensorflow/tfjs';

/** Runs `compute` in a tidy, waits for its result (so for every kernel before it), and disposes it: for timing. */
export async function computeAndWait(compute: () => tf.Tensor): Promise<void> {
  const out = tf.tidy(compute);
  try {
    await out.data();
  } finally {
    out.dispose();
  }
}

/** Reads the tensors once asynchronously so that synchronous reads of them (getWeights().dataSync()) work afterwards. */
export async function readable(tensors: tf.Tensor[]): Promise<void> {
  await Promise.all(tensors.map((t) => t.data()));
}
