// Faster filter gradients for tfjs's plain-JS 'cpu' backend, the backend fine-tuning runs on when
// tfjs-node is not installed. tfjs-backend-cpu computes Conv2DBackpropFilter and
// DepthwiseConv2dNativeBackpropFilter with a TensorBuffer.get() per multiply (index arithmetic and
// argument arrays in the innermost loop): on mobilenet_v2_035 at 224x224 these two kernels were
// about 90% of a training step. The same sums written over flat arrays, walking each output pixel
// once with the channel loop innermost (contiguous in memory), give the same numbers many times
// faster. Only the channels-last layout (what every Foldwise model uses) is replaced; anything
// else goes to the original kernel. Slice (the gradient of ZeroPadding2D) gets the same treatment:
// the original copies a non-contiguous slice one element at a time through index arrays.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { swapKernels } from './swap-kernels';

type KernelArgs = Parameters<tf.KernelFunc>[0];
interface CpuBackend {
  data: { get(dataId: unknown): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}
interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
}

type KernelName = 'Conv2DBackpropFilter' | 'DepthwiseConv2dNativeBackpropFilter' | 'Slice';

/** The original cpu kernels, kept for layouts the fast ones do not handle and for tests to compare against. */
const originals = new Map<string, tf.KernelFunc>();

function inputsOf(args: KernelArgs) {
  const backend = args.backend as unknown as CpuBackend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  return { backend, x, dy, xValues: backend.data.get(x.dataId).values, dyValues: backend.data.get(dy.dataId).values };
}

/** dW[fr, fc, ci, co] = sum over batch and output pixels of x[b, r*s + fr - pad, c*s + fc - pad, ci] * dy[b, r, c, co]. */
function conv2dFilterGradient(args: KernelArgs): tf.TensorInfo {
  const attrs = args.attrs as unknown as ConvAttrs;
  if (attrs.dataFormat === 'NCHW') return originals.get('Conv2DBackpropFilter')!(args) as tf.TensorInfo;
  const { backend, x, xValues, dyValues } = inputsOf(args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Sums of up to a few hundred thousand products: accumulate in doubles, as the original does.
  const sums = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < outHeight; r++) {
      for (let c = 0; c < outWidth; c++) {
        const dyAt = ((b * outHeight + r) * outWidth + c) * outChannels;
        for (let fr = 0; fr < filterHeight; fr++) {
          const xr = r * strideHeight + fr - top;
          if (xr < 0 || xr >= inHeight) continue;
          for (let fc = 0; fc < filterWidth; fc++) {
            const xc = c * strideWidth + fc - left;
            if (xc < 0 || xc >= inWidth) continue;
            const xAt = ((b * inHeight + xr) * inWidth + xc) * inChannels;
            const wAt = (fr * filterWidth + fc) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const xv = xValues[xAt + ci]!;
              // After ReLU most inputs are exactly zero: skip their whole row of products.
              if (xv === 0) continue;
              const row = wAt + ci * outChannels;
              for (let co = 0; co < outChannels; co++) sums[row + co]! += xv * dyValues[dyAt + co]!;
            }
          }
        }
      }
    }
  }
  return backend.makeTensorInfo(attrs.filterShape, 'float32', Float32Array.from(sums));
}

/** dW[fr, fc, ci, m] = sum of x[b, r*s + fr*d - pad, c*s + fc*d - pad, ci] * dy[b, r, c, ci*M + m]. */
function depthwiseFilterGradient(args: KernelArgs): tf.TensorInfo {
  const attrs = args.attrs as unknown as ConvAttrs;
  const { backend, x, xValues, dyValues } = inputsOf(args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth, dilationHeight, dilationWidth } = info;
  const multiplier = outChannels / inChannels;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const sums = new Float64Array(filterHeight * filterWidth * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < outHeight; r++) {
      for (let c = 0; c < outWidth; c++) {
        const dyAt = ((b * outHeight + r) * outWidth + c) * outChannels;
        for (let fr = 0; fr < filterHeight; fr++) {
          const xr = r * strideHeight + fr * dilationHeight - top;
          if (xr < 0 || xr >= inHeight) continue;
          for (let fc = 0; fc < filterWidth; fc++) {
            const xc = c * strideWidth + fc * dilationWidth - left;
            if (xc < 0 || xc >= inWidth) continue;
            const xAt = ((b * inHeight + xr) * inWidth + xc) * inChannels;
            const wAt = (fr * filterWidth + fc) * outChannels;
            if (multiplier === 1) {
              for (let ci = 0; ci < inChannels; ci++) sums[wAt + ci]! += xValues[xAt + ci]! * dyValues[dyAt + ci]!;
            } else {
              for (let ci = 0; ci < inChannels; ci++) {
                const xv = xValues[xAt + ci]!;
                for (let m = 0; m < multiplier; m++) sums[wAt + ci * multiplier + m]! += xv * dyValues[dyAt + ci * multiplier + m]!;
              }
            }
          }
        }
      }
    }
  }
  return backend.makeTensorInfo(attrs.filterShape, 'float32', Float32Array.from(sums));
}

/** Copies the slice row by row: each run along the last axis is contiguous in both tensors. */
function slice(args: KernelArgs): tf.TensorInfo {
  const x = (args.inputs as { x: tf.TensorInfo }).x;
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
  const rank = x.shape.length;
  if (x.dtype === 'string' || x.dtype === 'complex64' || rank < 2) return originals.get('Slice')!(args) as tf.TensorInfo;
  const [from, sizes] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
  tf.slice_util.assertParamsValid(x as tf.Tensor, from, sizes);
  if (tf.slice_util.isSliceContinous(x.shape, from, sizes)) return originals.get('Slice')!(args) as tf.TensorInfo;
  const backend = args.backend as unknown as CpuBackend;
  const values = backend.data.get(x.dataId).values;
  const strides = tf.util.computeStrides(x.shape);
  const out = tf.util.getTypedArrayFromDType(x.dtype as 'float32', tf.util.sizeFromShape(sizes)) as Float32Array;
  const run = sizes[rank - 1]!;
  const rows = out.length / Math.max(1, run);
  const index = new Array<number>(rank - 1).fill(0);
  for (let row = 0; row < rows; row++) {
    let at = from[rank - 1]!;
    for (let d = 0; d < rank - 1; d++) at += (from[d]! + index[d]!) * strides[d]!;
    out.set(values.subarray(at, at + run), row * run);
    // Next index over the leading axes, last of them fastest.
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < sizes[d]!) break;
      index[d] = 0;
    }
  }
  return backend.makeTensorInfo(sizes, x.dtype, out);
}

const FAST: Record<KernelName, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2dFilterGradient as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseFilterGradient as unknown as tf.KernelFunc,
  Slice: slice as unknown as tf.KernelFunc,
};

/** Puts the faster filter gradients in place on the 'cpu' backend. Safe to call any number of times. */
export function useFastCpuGradients(): void {
  swapKernels('cpu', FAST, originals);
}

/** The kernel tfjs-backend-cpu shipped, for tests that compare results. Call after useFastCpuGradients(). */
export function originalCpuKernel(name: KernelName): tf.KernelFunc {
  const kernel = originals.get(name);
  if (!kernel) throw new Error(`useFastCpuGradients() has not replaced ${name} yet.`);
  return kernel;
}
