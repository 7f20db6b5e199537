// Plain-JS access to tfjs-backend-wasm's tensors, for the gradient kernels Foldwise adds to that
// backend (wasm-gradients.ts, fused-gradients.ts). A wasm tensor is a range of the module's one
// heap; a kernel reads its inputs and writes its output there in place, and calls the backend's own
// kernels (BatchMatMul runs on XNNPACK) for the heavy products. These are tfjs-backend-wasm
// internals, so package.json pins the tfjs packages to one exact version.
import * as tf from '@tensorflow/tfjs';
import { gradientLoops, type GradientLoops } from './kernels/loops';

export interface WasmBackend {
  wasm: { HEAPF32: Float32Array; asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: unknown): boolean;
}

/** The float32 values of a wasm tensor, as a view on the heap (valid until the heap grows: take it after allocating). */
export function valuesOf(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  const start = backend.dataIdMap.get(t.dataId).memoryOffset / 4;
  return backend.wasm.HEAPF32.subarray(start, start + tf.util.sizeFromShape(t.shape));
}

/** The byte offset of a wasm tensor's data on the heap (what the compiled loops take). */
export function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** The compiled loops, working on this backend's heap. */
export function loopsOf(backend: WasmBackend): GradientLoops {
  return gradientLoops(backend.wasm.asm.memory);
}

/** A new float32 tensor of `shape` filled with zeros (the heap's malloc does not clear). */
export function zeros(backend: WasmBackend, shape: number[]): tf.TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  valuesOf(backend, out).fill(0);
  return out;
}

/** The same data under another shape, without a copy (the caller never disposes it separately). */
export function reshaped(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** a [m, k] x b [k, n] on the backend's BatchMatMul (XNNPACK: fast only untransposed, so callers transpose in JS first). */
export function matMul(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const kernel = tf.getKernel('BatchMatMul', 'wasm');
  if (!kernel) throw new Error('The wasm backend has no BatchMatMul kernel.');
  return kernel.kernelFunc({ inputs: { a, b }, backend: backend as unknown as tf.KernelBackend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
}

/** [rows, cols] -> a new [cols, rows] tensor. */
export function transpose2d(backend: WasmBackend, t: tf.TensorInfo, rows: number, cols: number): tf.TensorInfo {
  const out = backend.makeOutput([cols, rows], 'float32');
  loopsOf(backend).transpose(offsetOf(backend, t), offsetOf(backend, out), rows, cols);
  return out;
}
