// Compiling WebGPU shaders without freezing the engine. tfjs-backend-webgpu compiles each new shader
// synchronously the first time an op runs; one pass of a MobileNet compiles about 150, which blocked
// the engine's thread for 17 s on SwiftShader (and seconds on a Direct3D driver), long enough for the
// host's watchdog to take the engine for hung. tfjs can instead compile "only", with Dawn's
// asynchronous pipeline creation: so each new computation is first run that way and awaited, and then
// runs for real with every shader ready. Elsewhere (wasm, tfjs-node) this does nothing.
import * as tf from '@tensorflow/tfjs';

type Outputs = tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;

// What has been compiled, per backend instance (a new device after a loss compiles anew).
const compiled = new WeakMap<object, Set<string>>();

/**
 * Compiles the shaders `run` needs, in the background, unless `key` (the computation and its shapes)
 * was compiled on this device before. `run` must only build tensors: under compile-only nothing is
 * computed, so it must not read values or assign variables.
 */
export async function compileFirst(key: string, run: () => Outputs): Promise<void> {
  if (tf.getBackend() !== 'webgpu') return;
  const backend = tf.backend() as unknown as { checkCompileCompletionAsync(): Promise<void> };
  const done = compiled.get(backend) ?? new Set<string>();
  compiled.set(backend, done);
  if (done.has(key)) return;
  tf.env().set('WEBGPU_ENGINE_COMPILE_ONLY', true);
  try {
    tf.dispose(tf.tidy(run));
  } finally {
    tf.env().set('WEBGPU_ENGINE_COMPILE_ONLY', false);
  }
  await backend.checkCompileCompletionAsync();
  done.add(key);
}
