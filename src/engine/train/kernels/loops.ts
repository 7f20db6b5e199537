// Foldwise's compiled gradient loops (kernels.as.ts), instantiated on tfjs-backend-wasm's own memory
// so they read and write its tensors in place. One instance per wasm module (per memory).
import { KERNELS_WASM_BASE64 } from './kernels.wasm';

export interface GradientLoops {
  maskPositive(dy: number, x: number, out: number, n: number): void;
  maskBetween(dy: number, x: number, out: number, n: number, lo: number, hi: number): void;
  affineChannels(x: number, factor: number, shift: number, out: number, rows: number, channels: number): void;
  clip(x: number, out: number, n: number, lo: number, hi: number): void;
  /** dx = dy * factor[c]; sums[c] += dy; sums[channels + c] += dy * (x - mean[c]). */
  batchNormBackward(dy: number, x: number, mean: number, factor: number, dx: number, sums: number, rows: number, channels: number): void;
  /** out[m, n] += a[rows, m]^T x b[rows, n]; out starts zeroed. */
  transposedProduct(a: number, b: number, out: number, rows: number, m: number, n: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  setGeometry(batch: number, inH: number, inW: number, inC: number, outH: number, outW: number, strideH: number, strideW: number, filterH: number, filterW: number, dilationH: number, dilationW: number, padTop: number, padLeft: number): void;
  patches(x: number, out: number): void;
  addPatches(cols: number, out: number): void;
  depthwiseGradient(a: number, dy: number, out: number, filter: boolean): void;
}

let compiled: WebAssembly.Module | null = null;
const instances = new WeakMap<WebAssembly.Memory, GradientLoops>();

/** The loops working on `memory` (tfjs-backend-wasm's module.asm.memory). */
export function gradientLoops(memory: WebAssembly.Memory): GradientLoops {
  let loops = instances.get(memory);
  if (!loops) {
    compiled ??= new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    try {
      loops = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as GradientLoops;
    } catch (error) {
      // tfjs-backend-wasm's threaded build shares its memory, which this module does not import (Node runs the non-threaded one).
      throw new Error(`Foldwise's gradient kernels could not start on this TensorFlow.js WebAssembly build (${(error as Error).message}); fine-tuning needs its non-threaded build.`);
    }
    instances.set(memory, loops);
  }
  return loops;
}
