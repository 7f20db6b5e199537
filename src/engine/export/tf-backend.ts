// Inference in this process wants a fast tfjs backend. The pure-JS 'cpu' backend (which training
// may pick for gradients) is ~10x slower than wasm for a MobileNet, so predict and export switch to
// wasm while they run and put the previous backend back afterwards. tfjs-node, when present, stays.
import * as tf from '@tensorflow/tfjs';

/** Makes sure inference does not run on the slow 'cpu' backend; returns a function that restores the previous one. */
export async function useInferenceBackend(): Promise<() => Promise<void>> {
  await tf.ready();
  const previous = tf.getBackend();
  if (previous !== 'cpu') return async () => undefined;
  // Imported only here: registering wasm makes it tfjs's default, which code that never awaits
  // tf.ready() would trip over if it happened at module load.
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) {
    await tf.setBackend(previous);
    return async () => undefined;
  }
  return async () => {
    if (tf.getBackend() === 'wasm') await tf.setBackend(previous);
  };
}
