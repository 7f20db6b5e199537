// Which tfjs backend computes gradients here. The wasm backend (fast inference) lacks several
// gradient kernels, so training runs on tfjs-node when it is installed and on 'cpu' otherwise.
import * as tf from '@tensorflow/tfjs';
import { describeBackend } from '../backend';

/** Switches tfjs to the best backend that can compute gradients and returns its name. */
export async function useGradientBackend(): Promise<string> {
  for (const name of ['tensorflow', 'cpu']) {
    if (!tf.findBackendFactory(name)) continue;
    if (tf.getBackend() !== name) await tf.setBackend(name);
    await tf.ready();
    return name;
  }
  throw new Error('No tfjs backend that can compute gradients is registered.');
}

/** The backend name to report: the engine's own description where available. */
export async function backendName(): Promise<string> {
  try {
    return (await describeBackend()).name;
  } catch {
    return tf.getBackend();
  }
}
