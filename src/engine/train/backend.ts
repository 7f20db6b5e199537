// What run.ts imports today. The backend itself is chosen and switched by the compute owner
// (../compute.ts); new code asks it with withBackend(need, fn) instead of switching from here.
import * as tf from '@tensorflow/tfjs';
import { describeBackend, switchBackend } from '../compute';

export type GradientWork = 'head' | 'convolutions';

/** Has the compute owner switch this job to the backend for `work`; returns its name. */
export function useGradientBackend(work: GradientWork = 'head'): Promise<string> {
  return switchBackend(work);
}

/** The backend name to report: the engine's own description where available. */
export async function backendName(): Promise<string> {
  try {
    return (await describeBackend()).name;
  } catch {
    return tf.getBackend();
  }
}
