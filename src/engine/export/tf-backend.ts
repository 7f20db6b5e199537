// What predictor.ts and export.ts import today: inference must not run on the slow plain-JS 'cpu'
// backend (~10x slower than wasm for a MobileNet). Jobs that reach them already run on 'inference'
// (service.ts); this asks the compute owner (../compute.ts) for it when called from elsewhere.
import * as tf from '@tensorflow/tfjs';
import { switchBackend } from '../compute';

/** Makes sure inference does not run on 'cpu'; returns a function that puts 'convolutions' back when it was there. */
export async function useInferenceBackend(): Promise<() => Promise<void>> {
  await tf.ready();
  if (tf.getBackend() !== 'cpu') return async () => undefined;
  await switchBackend('inference');
  return async () => {
    // Refused (and so left as it is) only when called outside the job while another job computes.
    if (tf.getBackend() !== 'cpu') await switchBackend('convolutions').catch(() => undefined);
  };
}
