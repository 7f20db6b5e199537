// Running out of graphics memory. WebGPU does not throw when a buffer cannot be allocated: it reports
// the error to the innermost error scope (or as an uncaptured error) and the computation goes on with
// an invalid buffer. So work that may not fit (a training slice) runs inside an 'out-of-memory' scope,
// and a reported error becomes GpuOutOfMemory, which the caller answers by retrying with fewer photos.
import * as tf from '@tensorflow/tfjs';

export class GpuOutOfMemory extends Error {
  readonly code = 'gpu/out-of-memory';
  constructor(what: string) {
    super(`The graphics card ran out of memory ${what}.`);
  }
}

/** The device of the current backend when it is WebGPU. */
function currentDevice(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: GPUDevice }).device ?? null;
}

let injected = 0;

/** For tests: the next `count` checks report running out of memory, on any backend. */
export function runOutOfMemoryForTest(count: number): void {
  injected = count;
}

/** Runs `fn`; throws GpuOutOfMemory when the graphics card could not allocate what it needed. */
export async function checkingGpuMemory<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const device = currentDevice();
  device?.pushErrorScope('out-of-memory');
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await fn() };
  } catch (error) {
    outcome = { error };
  }
  // Popped whatever happened, so the scopes stay balanced; it resolves once the work before it is done.
  const outOfMemory = (device ? await device.popErrorScope() : null) !== null || (injected > 0 && injected-- > 0);
  if (outOfMemory) throw new GpuOutOfMemory(what);
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}
