// How Foldwise puts its faster kernels in place of tfjs's: one way for every set (cpu gradients, wasm
// gradients, wasm forward kernels), each remembering what it replaced, for its own fallbacks and for
// tests that compare with tfjs's kernel.
import * as tf from '@tensorflow/tfjs';

/**
 * Registers `kernels` on `backend`, recording each kernel it replaces in `originals`. Kernels the
 * backend lacks are added only with `addMissing`. Safe to call any number of times.
 */
export function swapKernels(backend: string, kernels: Record<string, tf.KernelFunc>, originals: Map<string, tf.KernelFunc>, { addMissing = false } = {}): void {
  for (const [name, kernelFunc] of Object.entries(kernels)) {
    const current = tf.getKernel(name, backend);
    if (current?.kernelFunc === kernelFunc || (!current && !addMissing)) continue;
    if (current) {
      originals.set(name, current.kernelFunc);
      tf.unregisterKernel(name, backend);
    }
    tf.registerKernel({ ...current, kernelName: name, backendName: backend, kernelFunc });
  }
}
