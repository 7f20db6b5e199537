// One-pass gradients for batch norm and ReLU6 on the wasm backend. tfjs-core writes these gradients
// as chains of small ops: ReLU6 (a ReLU layer with max_value 6 is relu then clipByValue) costs 7
// passes over the activations (step, cast, mul; greaterEqual, lessEqual, logicalAnd, where), and
// batch norm's computes x - mean and dy * scale whether or not anything needs them, tiles the
// per-channel factor to the activations' full size, and sums over the batch and pixel axes, which
// tfjs-backend-wasm's Sum does by transposing the whole tensor first. In a MobileNet these ops
// follow every convolution, so on wasm they took more time than the convolutions' gradients. Here
// each is one compiled loop over the heap (kernels/kernels.as.ts). The gradients are registered under tfjs's kernel names and keep
// the originals for every other backend and for shapes these do not handle.
import * as tf from '@tensorflow/tfjs';
import { loopsOf, offsetOf, valuesOf, zeros, type WasmBackend } from './wasm-heap';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type GradFunc = tf.GradConfig['gradFunc'];

const RELU_GRAD = 'FoldwiseReluGrad';
const CLIP_GRAD = 'FoldwiseClipByValueGrad';
const BATCH_NORM_GRAD = 'FoldwiseBatchNormGrad';

function reluGradient(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as WasmBackend;
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const out = backend.makeOutput([...dy.shape], 'float32');
  loopsOf(backend).maskPositive(offsetOf(backend, dy), offsetOf(backend, x), offsetOf(backend, out), tf.util.sizeFromShape(dy.shape));
  return out;
}

function clipGradient(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as WasmBackend;
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const { min, max } = args.attrs as unknown as { min: number; max: number };
  const out = backend.makeOutput([...dy.shape], 'float32');
  loopsOf(backend).maskBetween(offsetOf(backend, dy), offsetOf(backend, x), offsetOf(backend, out), tf.util.sizeFromShape(dy.shape), min, max);
  return out;
}

/**
 * Batch norm's gradients with fixed statistics, channels last, in one pass: [dx, sums] where
 * dx = dy * scale / sqrt(var + eps) and sums [2, C] holds per channel the sum of dy (the offset's
 * gradient) and of dy * (x - mean) / sqrt(var + eps) (the scale's).
 */
function batchNormGradient(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as unknown as WasmBackend;
  const { dy, x, mean, variance, scale } = args.inputs as Record<string, tf.TensorInfo>;
  const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
  const channels = mean!.shape[0]!;
  const rows = tf.util.sizeFromShape(dy!.shape) / channels;
  const inverseDeviation = Float32Array.from(valuesOf(backend, variance!), (v) => 1 / Math.sqrt(v + varianceEpsilon));
  const scales = scale ? valuesOf(backend, scale) : null;
  const factor = backend.makeOutput([channels], 'float32');
  valuesOf(backend, factor).set(inverseDeviation.map((v, c) => v * (scales ? scales[c]! : 1)));
  const dx = backend.makeOutput([...dy!.shape], 'float32');
  const sums = zeros(backend, [2, channels]);
  loopsOf(backend).batchNormBackward(offsetOf(backend, dy!), offsetOf(backend, x!), offsetOf(backend, mean!), offsetOf(backend, factor), offsetOf(backend, dx), offsetOf(backend, sums), rows, channels);
  backend.disposeData(factor.dataId);
  const scaleSums = valuesOf(backend, sums).subarray(channels);
  scaleSums.forEach((v, c) => (scaleSums[c] = v * inverseDeviation[c]!));
  return [dx, sums];
}

const onWasm = () => tf.getBackend() === 'wasm';

function reluGradFunc(original: GradFunc): GradFunc {
  return (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    if (!onWasm() || x!.dtype !== 'float32') return original(dy, saved, attrs);
    return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as tf.Tensor, x: x! }) as tf.Tensor };
  };
}

function clipGradFunc(original: GradFunc): GradFunc {
  return (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    if (!onWasm() || x!.dtype !== 'float32') return original(dy, saved, attrs);
    const { clipValueMin, clipValueMax } = attrs as unknown as { clipValueMin: number; clipValueMax: number };
    return { x: () => tf.engine().runKernel(CLIP_GRAD, { dy: dy as tf.Tensor, x: x! }, { min: clipValueMin, max: clipValueMax }) as tf.Tensor };
  };
}

function batchNormGradFunc(original: GradFunc): GradFunc {
  return (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as (tf.Tensor | undefined)[];
    // Per-channel statistics of a channels-last tensor: what Keras's BatchNormalization saves.
    const handled = onWasm() && mean?.rank === 1 && variance?.rank === 1 && (!scale || scale.rank === 1) && x!.shape.at(-1) === mean.shape[0];
    if (!handled) return original(dy, saved, attrs);
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const inputs: tf.NamedTensorMap = { dy: dy as tf.Tensor, x: x!, mean: mean!, variance: variance! };
    if (scale) inputs.scale = scale;
    // One pass for all three, now: wherever batch norm is in the tape, x's gradient is needed (it
    // leads back to trained weights) and the scale's and offset's cost little beside it.
    const [dx, sums] = tf.engine().runKernel(BATCH_NORM_GRAD, inputs, { varianceEpsilon }) as unknown as [tf.Tensor, tf.Tensor2D];
    const channels = mean!.shape[0]!;
    // Statistics are not trained (they are not variables); were they ever asked for, the original computes theirs.
    const stock = (which: 'mean' | 'variance') => () => original(dy, saved, attrs)[which]!();
    return {
      x: () => dx!,
      mean: stock('mean'),
      variance: stock('variance'),
      scale: () => tf.reshape(tf.slice(sums!, [1, 0], [1, channels]), [channels]),
      offset: () => tf.reshape(tf.slice(sums!, [0, 0], [1, channels]), [channels]),
    };
  };
}

const OVERRIDES: Record<string, (original: GradFunc) => GradFunc> = {
  Relu: reluGradFunc,
  ClipByValue: clipGradFunc,
  FusedBatchNorm: batchNormGradFunc,
};
const KERNELS: Record<string, tf.KernelFunc> = {
  [RELU_GRAD]: reluGradient as unknown as tf.KernelFunc,
  [CLIP_GRAD]: clipGradient as unknown as tf.KernelFunc,
  [BATCH_NORM_GRAD]: batchNormGradient as unknown as tf.KernelFunc,
};
const installed = new Set<string>();

/** Puts the one-pass gradients in place (wasm kernels, and tfjs's gradients that use them on wasm). Safe to call again. */
export function useFusedGradients(): void {
  for (const [name, kernelFunc] of Object.entries(KERNELS)) {
    if (!tf.getKernel(name, 'wasm')) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  }
  for (const [name, wrap] of Object.entries(OVERRIDES)) {
    if (installed.has(name)) continue;
    const original = tf.getGradient(name);
    if (!original) continue;
    tf.registerGradient({ ...original, gradFunc: wrap(original.gradFunc) });
    installed.add(name);
  }
}
