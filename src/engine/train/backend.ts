// Which tfjs backend trains. The head (dense layers on cached features) trains on wasm when it is
// there: its dense kernels and their gradients exist and run 5-10x faster than the pure-JS 'cpu'
// backend. Convolution gradients (fine-tuning) are missing from wasm, so fine-tuning runs on
// tfjs-node where installed and on 'cpu' otherwise.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { activateBackend, describeBackend } from '../backend';

export type GradientWork = 'head' | 'convolutions';

const PREFERENCE: Record<GradientWork, string[]> = {
  head: ['tensorflow', 'wasm', 'cpu'],
  convolutions: ['tensorflow', 'cpu'],
};

/** Switches tfjs to the best backend for `work` and returns its name. */
export async function useGradientBackend(work: GradientWork = 'head'): Promise<string> {
  for (const name of PREFERENCE[work]) {
    if (!tf.findBackendFactory(name)) continue;
    if (tf.getBackend() === name) return name;
    // A backend that fails to start (e.g. wasm binary missing) gives false or throws: try the next.
    if (await activateBackend(name).catch(() => false)) return name;
  }
  throw new Error('No tfjs backend that can compute gradients could start.');
}

/** The backend name to report: the engine's own description where available. */
export async function backendName(): Promise<string> {
  try {
    return (await describeBackend()).name;
  } catch {
    return tf.getBackend();
  }
}
