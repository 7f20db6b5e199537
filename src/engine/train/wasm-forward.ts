// Faster forward kernels for tfjs-backend-wasm where a training step showed its own to be slow.
// - Identity: tfjs clones every tensor a gradient will need (engine.saveTensorsForBackwardMode), and
//   wasm's Identity copies the data, where the cpu backend only counts one more reference: in a
//   MobileNetV2 training step these copies took 15% of the time. Tensors never change once written,
//   so sharing the data is safe (tfjs-backend-wasm's own Reshape does the same).
// - FusedBatchNorm (fixed statistics, per channel) becomes x * factor + shift in one SIMD loop,
//   and ClipByValue (ReLU6's upper half) a SIMD min/max: wasm's were plain C loops, 4x slower.
import * as tf from '@tensorflow/tfjs';
import { loopsOf, offsetOf, valuesOf, type WasmBackend } from './wasm-heap';

type KernelArgs = Parameters<tf.KernelFunc>[0];

const originals = new Map<string, tf.KernelFunc>();

function identity(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return originals.get('Identity')!(args) as tf.TensorInfo;
  (args.backend as unknown as { incRef(dataId: unknown): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

function batchNorm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as WasmBackend;
  const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
  const channels = x!.shape.at(-1)!;
  const perChannel = (t: tf.TensorInfo | undefined) => !t || (t.shape.length === 1 && t.shape[0] === channels);
  if (x!.dtype !== 'float32' || ![mean, variance, offset, scale].every(perChannel) || !mean || !variance) return originals.get('FusedBatchNorm')!(args) as tf.TensorInfo;
  const means = valuesOf(backend, mean);
  const variances = valuesOf(backend, variance);
  const scales = scale ? valuesOf(backend, scale) : null;
  const offsets = offset ? valuesOf(backend, offset) : null;
  const factors = new Float32Array(2 * channels); // factor per channel, then shift per channel
  for (let c = 0; c < channels; c++) {
    const factor = (scales ? scales[c]! : 1) / Math.sqrt(variances[c]! + varianceEpsilon);
    factors[c] = factor;
    factors[channels + c] = (offsets ? offsets[c]! : 0) - means[c]! * factor;
  }
  const constants = backend.makeOutput([2 * channels], 'float32');
  valuesOf(backend, constants).set(factors);
  const out = backend.makeOutput([...x!.shape], 'float32');
  const at = offsetOf(backend, constants);
  loopsOf(backend).affineChannels(offsetOf(backend, x!), at, at + 4 * channels, offsetOf(backend, out), tf.util.sizeFromShape(x!.shape) / channels, channels);
  backend.disposeData(constants.dataId);
  return out;
}

function clipByValue(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as WasmBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype !== 'float32') return originals.get('ClipByValue')!(args) as tf.TensorInfo;
  const { clipValueMin, clipValueMax } = args.attrs as unknown as { clipValueMin: number; clipValueMax: number };
  const out = backend.makeOutput([...x.shape], 'float32');
  loopsOf(backend).clip(offsetOf(backend, x), offsetOf(backend, out), tf.util.sizeFromShape(x.shape), clipValueMin, clipValueMax);
  return out;
}

const KERNELS: Record<string, tf.KernelFunc> = {
  Identity: identity as unknown as tf.KernelFunc,
  FusedBatchNorm: batchNorm as unknown as tf.KernelFunc,
  ClipByValue: clipByValue as unknown as tf.KernelFunc,
};

/** Puts the faster forward kernels in place on the 'wasm' backend. Safe to call any number of times. */
export function useFastWasmForward(): void {
  for (const [name, kernelFunc] of Object.entries(KERNELS)) {
    const current = tf.getKernel(name, 'wasm');
    if (!current || current.kernelFunc === kernelFunc) continue;
    originals.set(name, current.kernelFunc);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...current, kernelFunc });
  }
}

/** The kernel tfjs-backend-wasm shipped, for tests that compare. Call after useFastWasmForward(). */
export function originalWasmForwardKernel(name: string): tf.KernelFunc {
  const kernel = originals.get(name);
  if (!kernel) throw new Error(`useFastWasmForward() has not replaced ${name} yet.`);
  return kernel;
}
