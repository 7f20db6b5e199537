// The faster cpu kernels must give the numbers tfjs-backend-cpu gives, on the shapes MobileNets
// use (1x1 and 3x3 filters, stride 1 and 2, 'same' and 'valid' and explicit padding, channel
// multipliers) and on odd ones.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { originalCpuKernel, useFastCpuGradients } from './cpu-gradients';

beforeAll(async () => {
  await tf.setBackend('cpu');
  useFastCpuGradients();
  useFastCpuGradients(); // twice: still one replacement, originals kept
});

/** Runs `kernel` on the cpu backend with tensors in and a tensor out. */
function runKernel(kernel: tf.KernelFunc, inputs: Record<string, tf.Tensor>, attrs: object): Float32Array {
  const backend = tf.backend();
  const info = kernel({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  const values = (backend as unknown as { data: { get(id: unknown): { values: Float32Array } } }).data.get(info.dataId).values;
  const copy = Float32Array.from(values);
  backend.disposeData(info.dataId);
  return copy;
}

function expectClose(actual: Float32Array, expected: Float32Array) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)));
  expect(worst).toBeLessThan(1e-5);
}

const random = (shape: number[], seed: number, zeros = false) =>
  tf.tidy(() => {
    const values = tf.randomNormal(shape, 0, 1, 'float32', seed);
    // Half the inputs exactly zero, as after a ReLU (the fast kernel skips them).
    return zeros ? tf.relu(values) : values;
  });

describe('fast cpu filter gradients', () => {
  it('replaces the cpu kernels', () => {
    for (const name of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'Slice'] as const) {
      expect(tf.getKernel(name, 'cpu')!.kernelFunc).not.toBe(originalCpuKernel(name));
    }
  });

  const convCases = [
    { x: [2, 9, 9, 5], filter: [1, 1, 5, 7], strides: 1, pad: 'valid' },
    { x: [1, 8, 8, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' },
    { x: [2, 7, 6, 4], filter: [3, 2, 4, 3], strides: [2, 1], pad: 'valid' },
    { x: [1, 6, 6, 2], filter: [3, 3, 2, 2], strides: 1, pad: 1 },
  ] as const;
  for (const [i, c] of convCases.entries()) {
    it(`Conv2DBackpropFilter ${JSON.stringify(c)}`, () => {
      const x = random([...c.x], i, true);
      const outShape = tf.conv2d(x as tf.Tensor4D, tf.zeros([...c.filter]) as tf.Tensor4D, c.strides as [number, number], c.pad).shape;
      const dy = random(outShape, 100 + i);
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: [...c.filter] };
      const fast = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      expect(fast.shape).toEqual([...c.filter]);
      expectClose(fast.dataSync() as Float32Array, runKernel(originalCpuKernel('Conv2DBackpropFilter'), { x, dy }, attrs));
      tf.dispose([x, dy, fast]);
    });
  }

  // Dilations stay 1: tfjs's depthwise gradient refuses others (and the original kernel ignores them).
  const depthwiseCases = [
    { x: [2, 9, 9, 6], filter: [3, 3, 6, 1], strides: 1, pad: 'same', dilations: 1 },
    { x: [1, 10, 10, 4], filter: [3, 3, 4, 1], strides: 2, pad: 'valid', dilations: 1 },
    { x: [1, 8, 8, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same', dilations: 1 },
  ] as const;
  for (const [i, c] of depthwiseCases.entries()) {
    it(`DepthwiseConv2dNativeBackpropFilter ${JSON.stringify(c)}`, () => {
      const x = random([...c.x], 10 + i, true);
      const outShape = tf.depthwiseConv2d(x as tf.Tensor4D, tf.zeros([...c.filter]) as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations).shape;
      const dy = random(outShape, 200 + i);
      const attrs = { strides: c.strides, pad: c.pad, dilations: c.dilations, filterShape: [...c.filter] };
      const fast = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      expect(fast.shape).toEqual([...c.filter]);
      expectClose(fast.dataSync() as Float32Array, runKernel(originalCpuKernel('DepthwiseConv2dNativeBackpropFilter'), { x, dy }, attrs));
      tf.dispose([x, dy, fast]);
    });
  }

  it('gradients through a small conv net match numerical differences', () => {
    // Independent of tfjs's kernels: the filter gradient of sum(conv(x, w)^2) by central differences.
    const x = random([1, 5, 5, 2], 7);
    const w = random([3, 3, 2, 1], 8);
    const loss = (filter: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 2, 'same'), tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'same'))) as tf.Scalar;
    const grad = tf.grad(loss)(w).dataSync();
    const base = w.dataSync();
    for (const k of [0, 5, 11, 17]) {
      const step = 1e-2;
      const plus = Float32Array.from(base);
      const minus = Float32Array.from(base);
      plus[k]! += step;
      minus[k]! -= step;
      const numeric = (loss(tf.tensor4d(plus, [3, 3, 2, 1])).dataSync()[0]! - loss(tf.tensor4d(minus, [3, 3, 2, 1])).dataSync()[0]!) / (2 * step);
      expect(grad[k]!).toBeCloseTo(numeric, 1);
    }
  });
});

describe('fast cpu slice', () => {
  const cases = [
    { shape: [1, 7, 7, 4], begin: [0, 1, 1, 0], size: [1, 5, 5, 4] },
    { shape: [2, 3, 4], begin: [1, 0, 1], size: [1, 3, 2] },
    { shape: [3, 5], begin: [1, 2], size: [2, -1] },
    { shape: [2, 6, 6, 3], begin: [0, 0, 0, 0], size: [2, 6, 6, 3] },
  ];
  for (const [i, c] of cases.entries()) {
    it(`Slice ${JSON.stringify(c)}`, () => {
      const x = random(c.shape, 300 + i);
      const fast = tf.slice(x, c.begin, c.size);
      const attrs = { begin: c.begin, size: c.size };
      expectClose(fast.dataSync() as Float32Array, runKernel(originalCpuKernel('Slice'), { x }, attrs));
      tf.dispose([x, fast]);
    });
  }

  it('slices int32 tensors exactly', () => {
    const x = tf.tensor3d(Int32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4], 'int32');
    expect(Array.from(tf.slice(x, [1, 1, 1], [1, 2, 2]).dataSync())).toEqual([17, 18, 21, 22]);
  });
});
