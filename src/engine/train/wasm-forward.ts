// Faster forward kernels for tfjs-backend-wasm where a training step showed its own to be slow.
// - Identity: tfjs clones every tensor a gradient will need (engine.saveTensorsForBackwardMode), and
//   wasm's Identity copies the data, where the cpu backend only counts one more reference: in a
//   MobileNetV2 training step these copies took 15% of the time. Tensors never change once written,
//   so sharing the data is safe (tfjs-backend-wasm's own Reshape does the same).
// - FusedBatchNorm (fixed statistics, per channel) becomes x * factor + shift in one SIMD loop,
//   and ClipByValue (ReLU6's upper half) a SIMD min/max: wasm's were plain C loops, 4x slower.
// - Slice (ZeroPadding2D's gradient) and PadV2 (ZeroPadding2D) copy whole contiguous runs (rows of
//   pixels) with the heap's own copyWithin: wasm's went element by element, and the slice was 7-9%
//   of a MobileNetV2 training step.
import * as tf from '@tensorflow/tfjs';
import { loopsOf, offsetOf, valuesOf, type WasmBackend } from './wasm-heap';
import { swapKernels } from './swap-kernels';

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

/**
 * Copies a block of `shape` values between two row-major tensors: `count` runs of `run` values.
 * Leading axes up to `axes` are walked (last fastest); `fromAt` / `toAt` give each run's start.
 */
function copyRuns(heap: Float32Array, sizes: number[], axes: number, run: number, fromAt: (index: number[]) => number, toAt: (index: number[]) => number): void {
  const index = new Array<number>(axes).fill(0);
  const count = sizes.slice(0, axes).reduce((a, b) => a * b, 1);
  for (let k = 0; k < count; k++) {
    const from = fromAt(index);
    heap.copyWithin(toAt(index), from, from + run);
    for (let d = axes - 1; d >= 0; d--) {
      if (++index[d]! < sizes[d]!) break;
      index[d] = 0;
    }
  }
}

/** How many leading axes a copy must walk: trailing axes that are whole in both tensors join the run. */
function leadingAxes(inner: number[], outer: number[]): number {
  let d = inner.length - 1;
  while (d > 0 && inner[d] === outer[d]) d--;
  return d;
}

function slice(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as WasmBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
  const [from, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
  if (x.dtype !== 'float32' || x.shape.length < 2 || tf.slice_util.isSliceContinous(x.shape, from, sizes)) return originals.get('Slice')!(args) as tf.TensorInfo;
  tf.slice_util.assertParamsValid(x as tf.Tensor, from, sizes);
  const out = backend.makeOutput(sizes, 'float32');
  const axes = leadingAxes(sizes, x.shape);
  const run = sizes.slice(axes).reduce((a, b) => a * b, 1);
  const xStrides = tf.util.computeStrides(x.shape);
  const innerStart = from.slice(axes).reduce((at, f, i) => at + f * (xStrides[axes + i] ?? 1), 0);
  const xAt = offsetOf(backend, x) / 4 + innerStart;
  const outAt = offsetOf(backend, out) / 4;
  let row = 0;
  copyRuns(backend.wasm.HEAPF32, sizes, axes, run, (index) => index.reduce((at, i, d) => at + (from[d]! + i) * xStrides[d]!, xAt), () => outAt + run * row++);
  return out;
}

function pad(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as unknown as WasmBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { paddings, constantValue } = args.attrs as unknown as { paddings: [number, number][]; constantValue: number };
  if (x.dtype !== 'float32' || x.shape.length < 2 || tf.util.sizeFromShape(x.shape) === 0) return originals.get('PadV2')!(args) as tf.TensorInfo;
  const shape = x.shape.map((n, d) => paddings[d]![0] + n + paddings[d]![1]);
  const out = backend.makeOutput(shape, 'float32');
  valuesOf(backend, out).fill(constantValue);
  const axes = leadingAxes(x.shape, shape);
  const run = x.shape.slice(axes).reduce((a, b) => a * b, 1);
  const outStrides = tf.util.computeStrides(shape);
  const innerStart = paddings.slice(axes).reduce((at, [before], i) => at + before * (outStrides[axes + i] ?? 1), 0);
  const outAt = offsetOf(backend, out) / 4 + innerStart;
  const xAt = offsetOf(backend, x) / 4;
  let row = 0;
  copyRuns(backend.wasm.HEAPF32, x.shape, axes, run, () => xAt + run * row++, (index) => index.reduce((at, i, d) => at + (paddings[d]![0] + i) * outStrides[d]!, outAt));
  return out;
}

const KERNELS: Record<string, tf.KernelFunc> = {
  Slice: slice as unknown as tf.KernelFunc,
  PadV2: pad as unknown as tf.KernelFunc,
  Identity: identity as unknown as tf.KernelFunc,
  FusedBatchNorm: batchNorm as unknown as tf.KernelFunc,
  ClipByValue: clipByValue as unknown as tf.KernelFunc,
};

/** Puts the faster forward kernels in place on the 'wasm' backend. Safe to call any number of times. */
export function useFastWasmForward(): void {
  swapKernels('wasm', KERNELS, originals);
}

/** The kernel tfjs-backend-wasm shipped, for tests that compare. Call after useFastWasmForward(). */
export function originalWasmForwardKernel(name: string): tf.KernelFunc {
  const kernel = originals.get(name);
  if (!kernel) throw new Error(`useFastWasmForward() has not replaced ${name} yet.`);
  return kernel;
}
