// Convolution gradients for tfjs-backend-wasm, so fine-tuning can run on the backend with the fast
// forward pass. tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter and no depthwise backprops, and
// its Conv2DBackpropInput is a plain loop about 10x slower than a matrix product of the same size.
// Here a convolution's gradients are matrix products:
//   filter: dW[k, out] = patches[rows, k]^T x dy[rows, out]   (for a 1x1 convolution, patches = x)
//   input:  cols[rows, k] = dy[rows, out] x W[k, out]^T, then each column added back at its pixel
// The input gradient runs on the backend's own BatchMatMul (XNNPACK), which multiplies only
// untransposed matrices fast (its transposed path is a plain loop, 5-10x slower), so W is transposed
// first (it is small). The filter gradient, depthwise gradients (9 products per value, too few for a
// matrix product), transposes and patches are Foldwise's own compiled SIMD loops
// (kernels/kernels.as.ts) working on the same heap; plain-JS loops there were 3-5x slower than
// tfjs's own C kernels.
// Only channels-last (NHWC, what every Foldwise model uses) is handled.
import * as tf from '@tensorflow/tfjs';
import { loopsOf, matMul, offsetOf, reshaped, transpose2d, valuesOf, zeros, type WasmBackend } from './wasm-heap';
import { swapKernels } from './swap-kernels';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Shape4 = [number, number, number, number];
interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  filterShape?: Shape4;
  inputShape?: Shape4;
}

function channelsLast(attrs: ConvAttrs, kernel: string): void {
  if (attrs.dataFormat === 'NCHW') throw new Error(`${kernel} on the wasm backend handles channels-last (NHWC) tensors only.`);
}

/** A 1x1 convolution with stride 1 and no padding: its patches are the input itself. */
function isPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 && info.padInfo.top === 0 && info.padInfo.left === 0 && info.dilationHeight === 1 && info.dilationWidth === 1;
}

/** Sets the loops' convolution geometry from tfjs's description of the convolution. */
function setGeometry(backend: WasmBackend, info: tf.backend_util.Conv2DInfo): void {
  loopsOf(backend).setGeometry(info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, info.filterHeight, info.filterWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left);
}

/** Every output pixel's receptive field as one row: [N*outH*outW, fh*fw*inC], zeros where it reaches into padding. */
function patches(backend: WasmBackend, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const out = backend.makeOutput([info.batchSize * info.outHeight * info.outWidth, info.filterHeight * info.filterWidth * info.inChannels], 'float32');
  setGeometry(backend, info);
  loopsOf(backend).patches(offsetOf(backend, x), offsetOf(backend, out));
  return out;
}

function conv2dFilterGradient({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo {
  const backend = b as unknown as WasmBackend;
  const a = attrs as unknown as ConvAttrs;
  channelsLast(a, 'Conv2DBackpropFilter');
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, a.filterShape!, a.strides, 1, a.pad, a.dimRoundingMode);
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const pointwise = isPointwise(info);
  const cols = pointwise ? reshaped(x, [rows, k]) : patches(backend, x, info);
  // dW[k, out] = cols^T x dy in one compiled loop. XNNPACK's product of the same operands (after
  // transposing the thinner one in a compiled loop) was as fast or slower on every MobileNetV2 shape
  // and needed a copy of one operand: measured in docs/BENCHMARKS.md.
  const out = zeros(backend, [k, info.outChannels]);
  loopsOf(backend).transposedProduct(offsetOf(backend, cols), offsetOf(backend, dy), offsetOf(backend, out), rows, k, info.outChannels);
  if (!pointwise) backend.disposeData(cols.dataId);
  return { ...out, shape: [...a.filterShape!] };
}

function conv2dInputGradient({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo {
  const backend = b as unknown as WasmBackend;
  const a = attrs as unknown as ConvAttrs;
  channelsLast(a, 'Conv2DBackpropInput');
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const info = tf.backend_util.computeConv2DInfo(a.inputShape!, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const rows = batchSize * outHeight * outWidth;
  const k = filterHeight * filterWidth * inChannels;
  const filterT = transpose2d(backend, filter, k, outChannels);
  const cols = matMul(backend, reshaped(dy, [rows, outChannels]), filterT);
  backend.disposeData(filterT.dataId);
  if (isPointwise(info)) return { ...cols, shape: [...a.inputShape!] };
  // Each row holds one output pixel's share of its receptive field: add it back where it came from.
  const out = zeros(backend, [...a.inputShape!]);
  setGeometry(backend, info);
  loopsOf(backend).addPatches(offsetOf(backend, cols), offsetOf(backend, out));
  backend.disposeData(cols.dataId);
  return out;
}

function depthwiseInfo(inShape: Shape4, filterShape: Shape4, a: ConvAttrs) {
  const info = tf.backend_util.computeConv2DInfo(inShape, filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
  return { ...info, multiplier: info.outChannels / info.inChannels };
}

/**
 * Calls visit(xAt, dyAt, wAt) for every (output pixel, filter tap) pair that lands inside the input:
 * the offsets of that tap's channel run in x (or dx), dy (or its gradient) and the filter.
 */
function forEachTap(info: ReturnType<typeof depthwiseInfo>, visit: (xAt: number, dyAt: number, wAt: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth, dilationHeight, dilationWidth } = info;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < outHeight; r++) {
      for (let c = 0; c < outWidth; c++) {
        const dyAt = ((b * outHeight + r) * outWidth + c) * outChannels;
        for (let fr = 0; fr < filterHeight; fr++) {
          const xr = r * strideHeight + fr * dilationHeight - info.padInfo.top;
          if (xr < 0 || xr >= inHeight) continue;
          for (let fc = 0; fc < filterWidth; fc++) {
            const xc = c * strideWidth + fc * dilationWidth - info.padInfo.left;
            if (xc < 0 || xc >= inWidth) continue;
            visit(((b * inHeight + xr) * inWidth + xc) * inChannels, dyAt, (fr * filterWidth + fc) * outChannels);
          }
        }
      }
    }
  }
}

/** dW[fr, fc, ci, m] = sum of x[b, r*s + fr*d - pad, c*s + fc*d - pad, ci] * dy[b, r, c, ci*M + m]. */
function depthwiseFilterGradient({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo {
  const backend = b as unknown as WasmBackend;
  const a = attrs as unknown as ConvAttrs;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const info = depthwiseInfo(x.shape as Shape4, a.filterShape!, a);
  const { inChannels, multiplier } = info;
  if (multiplier === 1) {
    const out = zeros(backend, [...a.filterShape!]);
    setGeometry(backend, info);
    loopsOf(backend).depthwiseGradient(offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, out), true);
    return out;
  }
  // Channel multipliers above 1 (no Foldwise backbone has one) take the plain-JS loop. Sums of up to a few hundred thousand products: accumulate in doubles.
  const sums = new Float64Array(tf.util.sizeFromShape(a.filterShape!));
  const xs = valuesOf(backend, x);
  const dys = valuesOf(backend, dy);
  forEachTap(info, (xAt, dyAt, wAt) => {
    for (let ci = 0; ci < inChannels; ci++) {
      const xv = xs[xAt + ci]!;
      for (let m = 0; m < multiplier; m++) sums[wAt + ci * multiplier + m]! += xv * dys[dyAt + ci * multiplier + m]!;
    }
  });
  const out = backend.makeOutput([...a.filterShape!], 'float32');
  valuesOf(backend, out).set(sums);
  return out;
}

/** dx[b, xr, xc, ci] = sum over the taps that read it of dy[b, r, c, ci*M + m] * W[fr, fc, ci, m]. */
function depthwiseInputGradient({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo {
  const backend = b as unknown as WasmBackend;
  const a = attrs as unknown as ConvAttrs;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const info = depthwiseInfo(a.inputShape!, filter.shape as Shape4, a);
  const { inChannels, multiplier } = info;
  const out = zeros(backend, [...a.inputShape!]);
  if (multiplier === 1) {
    setGeometry(backend, info);
    loopsOf(backend).depthwiseGradient(offsetOf(backend, filter), offsetOf(backend, dy), offsetOf(backend, out), false);
    return out;
  }
  const dx = valuesOf(backend, out);
  const dys = valuesOf(backend, dy);
  const w = valuesOf(backend, filter);
  forEachTap(info, (xAt, dyAt, wAt) => {
    for (let ci = 0; ci < inChannels; ci++) {
      let sum = 0;
      for (let m = 0; m < multiplier; m++) sum += dys[dyAt + ci * multiplier + m]! * w[wAt + ci * multiplier + m]!;
      dx[xAt + ci]! += sum;
    }
  });
  return out;
}

const KERNELS: Record<string, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2dFilterGradient as unknown as tf.KernelFunc,
  Conv2DBackpropInput: conv2dInputGradient as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseFilterGradient as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseInputGradient as unknown as tf.KernelFunc,
};

/** The wasm kernels these replaced (only Conv2DBackpropInput existed), for tests that compare. */
const originals = new Map<string, tf.KernelFunc>();

/** Puts the convolution gradients in place on the 'wasm' backend. Safe to call any number of times. */
export function useWasmConvGradients(): void {
  // Only Conv2DBackpropInput exists on wasm: the others are added.
  swapKernels('wasm', KERNELS, originals, { addMissing: true });
}

/** The kernel tfjs-backend-wasm shipped under `name`, if it had one. Call after useWasmConvGradients(). */
export function originalWasmKernel(name: string): tf.KernelFunc | undefined {
  return originals.get(name);
}
