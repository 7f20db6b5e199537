// Foldwise's wasm kernels (convolution and depthwise gradients, batch norm and ReLU6 gradients, and
// the faster forward kernels) must give the numbers the stock plain-JS 'cpu' backend gives, on
// the shapes MobileNets use and on odd ones (stride 2, 'same' / 'valid' / explicit padding, odd
// sizes, a channel multiplier), must agree with finite differences, and must not leak heap memory.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { switchBackend } from '../compute';
import { originalWasmForwardKernel } from './wasm-forward';
import { originalWasmKernel } from './wasm-gradients';
// @ts-expect-error: a plain .mjs build script, no types
import { compileKernels, moduleText } from '../../../scripts/build-kernels.mjs';
import { KERNELS_WASM_BASE64 } from './kernels/kernels.wasm';

beforeAll(async () => {
  expect(await switchBackend('convolutions')).toBe('wasm');
});

/** Deterministic values in [-spread, spread), the same on every backend. */
function values(size: number, seed: number, spread = 1): Float32Array {
  let state = seed * 7919 + 1;
  return Float32Array.from({ length: size }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648 - 0.5) * 2 * spread;
  });
}

type Inputs = Record<string, { shape: number[]; data: Float32Array }>;

/** Gradients of sum(f(inputs) * weights) with respect to every input named in `wrt`, on one backend. */
async function gradientsOn(backend: 'cpu' | 'wasm', inputs: Inputs, wrt: string[], f: (t: Record<string, tf.Tensor>) => tf.Tensor): Promise<Float32Array[]> {
  if (backend === 'cpu') await tf.setBackend('cpu');
  else await switchBackend('convolutions');
  expect(tf.getBackend()).toBe(backend);
  return tf.tidy(() => {
    const tensors = Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, tf.tensor(v.data, v.shape)]));
    const probe = f(tensors);
    const weights = tf.tensor(values(probe.size, 99), probe.shape);
    const loss = (...xs: tf.Tensor[]) => tf.sum(tf.mul(f({ ...tensors, ...Object.fromEntries(wrt.map((n, i) => [n, xs[i]!])) }), weights));
    return tf.grads(loss)(wrt.map((n) => tensors[n]!)).map((g) => g.dataSync() as Float32Array);
  });
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-4) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

async function compareWithCpu(inputs: Inputs, wrt: string[], f: (t: Record<string, tf.Tensor>) => tf.Tensor) {
  const expected = await gradientsOn('cpu', inputs, wrt, f);
  const actual = await gradientsOn('wasm', inputs, wrt, f);
  expected.forEach((e, i) => expectClose(actual[i]!, e));
  await switchBackend('convolutions');
}

const input = (shape: number[], seed: number, spread = 1) => ({ shape, data: values(shape.reduce((a, b) => a * b, 1), seed, spread) });

describe('wasm convolution gradients against the stock cpu kernels', () => {
  const cases: { x: number[]; filter: number[]; strides: number | [number, number]; pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] }[] = [
    { x: [2, 7, 7, 5], filter: [1, 1, 5, 6], strides: 1, pad: 'same' },
    { x: [2, 5, 6, 9], filter: [1, 1, 9, 4], strides: 1, pad: 'valid' },
    { x: [1, 9, 8, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
    { x: [2, 7, 5, 4], filter: [3, 3, 4, 3], strides: 1, pad: 'same' },
    { x: [1, 8, 8, 6], filter: [1, 1, 6, 5], strides: 2, pad: 'same' },
    { x: [1, 7, 7, 2], filter: [2, 3, 2, 5], strides: [2, 1], pad: [[0, 0], [1, 0], [0, 1], [0, 0]] },
  ];
  for (const [i, c] of cases.entries()) {
    it(`Conv2D ${JSON.stringify(c)}`, async () => {
      await compareWithCpu({ x: input(c.x, i), w: input(c.filter, 50 + i) }, ['x', 'w'], (t) => tf.conv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, c.strides, c.pad));
    });
  }

  const depthwise: { x: number[]; filter: number[]; strides: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 7, 7, 6], filter: [3, 3, 6, 1], strides: 1, pad: 'same' },
    { x: [1, 9, 9, 5], filter: [3, 3, 5, 1], strides: 2, pad: 'valid' },
    { x: [1, 8, 8, 4], filter: [3, 3, 4, 1], strides: 2, pad: 'same' },
    { x: [2, 6, 5, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same' },
    // Channels in fours take the register-blocked 3x3 loops.
    { x: [2, 7, 7, 8], filter: [3, 3, 8, 1], strides: 1, pad: 'same' },
    { x: [1, 9, 9, 12], filter: [3, 3, 12, 1], strides: 2, pad: 'valid' },
    { x: [2, 7, 6, 4], filter: [3, 3, 4, 1], strides: 2, pad: 'same' },
    { x: [1, 6, 7, 8], filter: [3, 3, 8, 1], strides: 1, pad: 'valid' },
  ];
  for (const [i, c] of depthwise.entries()) {
    it(`DepthwiseConv2dNative ${JSON.stringify(c)}`, async () => {
      await compareWithCpu({ x: input(c.x, 10 + i), w: input(c.filter, 60 + i) }, ['x', 'w'], (t) => tf.depthwiseConv2d(t.x as tf.Tensor4D, t.w as tf.Tensor4D, c.strides, c.pad));
    });
  }

  it('replaces the stock wasm Conv2DBackpropInput', () => {
    expect(originalWasmKernel('Conv2DBackpropInput')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc).not.toBe(originalWasmKernel('Conv2DBackpropInput'));
  });
});

describe('wasm batch norm and ReLU6 gradients against the stock cpu ones', () => {
  it('batch norm with fixed statistics: x, scale and offset', async () => {
    const c = 6;
    const inputs = { x: input([2, 5, 3, c], 1, 3), mean: input([c], 2), variance: { shape: [c], data: values(c, 3).map((v) => v * v + 0.1) }, offset: input([c], 4), scale: input([c], 5) };
    await compareWithCpu(inputs, ['x', 'scale', 'offset'], (t) => tf.batchNorm(t.x!, t.mean!, t.variance!, t.offset, t.scale, 1e-3));
  });

  it('relu then clipByValue (a ReLU6 layer), with values on both sides of 0 and 6', async () => {
    await compareWithCpu({ x: input([3, 4, 5, 7], 6, 9) }, ['x'], (t) => tf.clipByValue(tf.relu(t.x!), 0, 6));
  });
});

describe('faster wasm forward kernels', () => {
  const run = (kernel: tf.KernelFunc, inputs: Record<string, tf.Tensor>, attrs: object) => {
    const info = kernel({ inputs, backend: tf.backend(), attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
    const t = tf.engine().makeTensorFromTensorInfo(info);
    const out = t.dataSync() as Float32Array;
    t.dispose();
    return out;
  };

  it('batch norm and clipByValue give the stock kernels’ numbers', () => {
    const x = tf.tensor4d(values(2 * 4 * 3 * 7, 7, 8), [2, 4, 3, 7]);
    const mean = tf.tensor1d(values(7, 8));
    const variance = tf.tensor1d(values(7, 9).map((v) => v * v + 0.2));
    const offset = tf.tensor1d(values(7, 10));
    const scale = tf.tensor1d(values(7, 11));
    const norm = { x, mean, variance, offset, scale };
    expectClose(tf.batchNorm(x, mean, variance, offset, scale, 1e-3).dataSync() as Float32Array, run(originalWasmForwardKernel('FusedBatchNorm'), norm, { varianceEpsilon: 1e-3 }), 1e-5);
    expectClose(tf.clipByValue(x, 0, 6).dataSync() as Float32Array, run(originalWasmForwardKernel('ClipByValue'), { x }, { clipValueMin: 0, clipValueMax: 6 }), 0);
    tf.dispose([x, mean, variance, offset, scale]);
  });

  const slices = [
    { shape: [2, 9, 9, 5], begin: [0, 0, 0, 0], size: [2, 8, 8, 5] },
    { shape: [1, 7, 6, 3], begin: [0, 1, 2, 1], size: [1, 5, 3, 2] },
    { shape: [3, 5], begin: [1, 2], size: [2, -1] },
    { shape: [2, 3, 4], begin: [1, 0, 1], size: [1, 3, 2] },
  ];
  for (const c of slices) {
    it(`Slice ${JSON.stringify(c)} gives the stock kernel's values`, () => {
      const x = tf.tensor(values(c.shape.reduce((a, b) => a * b, 1), 12), c.shape);
      expectClose(tf.slice(x, c.begin, c.size).dataSync() as Float32Array, run(originalWasmForwardKernel('Slice'), { x }, { begin: c.begin, size: c.size }), 0);
      x.dispose();
    });
  }

  const pads = [
    { shape: [2, 6, 7, 3], paddings: [[0, 0], [0, 1], [0, 1], [0, 0]], value: 0 },
    { shape: [1, 4, 5, 2], paddings: [[0, 0], [2, 1], [1, 3], [0, 0]], value: 0 },
    { shape: [3, 4], paddings: [[1, 0], [0, 2]], value: 1.5 },
    { shape: [2, 3, 2], paddings: [[0, 0], [0, 0], [1, 1]], value: -1 },
  ] as const;
  for (const c of pads) {
    it(`PadV2 ${JSON.stringify(c)} gives the stock kernel's values`, () => {
      const shape: number[] = [...c.shape];
      const x = tf.tensor(values(shape.reduce((a, b) => a * b, 1), 13), shape);
      const paddings = c.paddings.map((p) => [...p]) as [number, number][];
      expectClose(tf.pad(x, paddings, c.value).dataSync() as Float32Array, run(originalWasmForwardKernel('PadV2'), { x }, { paddings, constantValue: c.value }), 0);
      x.dispose();
    });
  }

  it('a clone shares the data and outlives its original', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const copy = tf.clone(x);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
  });
});

describe('wasm gradients against finite differences', () => {
  it('a stride-2 convolution, a depthwise convolution, batch norm and ReLU6 in a row', async () => {
    await switchBackend('convolutions');
    const x = tf.tensor4d(values(1 * 7 * 7 * 3, 20), [1, 7, 7, 3]);
    const w0 = values(3 * 3 * 3 * 4, 21);
    const dw = tf.tensor4d(values(3 * 3 * 4 * 1, 22), [3, 3, 4, 1]);
    const mean = tf.tensor1d(values(4, 23));
    const variance = tf.tensor1d(values(4, 24).map((v) => v * v + 0.5));
    const pw = tf.tensor4d(values(4 * 2, 25), [1, 1, 4, 2]);
    // tfjs records batch norm for gradients only with an offset and a scale (Keras's always has both).
    const offset = tf.tensor1d(values(4, 26));
    const scale = tf.tensor1d(values(4, 27));
    const loss = (w: tf.Tensor) =>
      tf.tidy(() => {
        const a = tf.conv2d(x, w as tf.Tensor4D, 2, 'same');
        const b = tf.clipByValue(tf.relu(tf.batchNorm(tf.depthwiseConv2d(a, dw, 1, 'same'), mean, variance, offset, scale, 1e-3)), 0, 6);
        return tf.sum(tf.square(tf.conv2d(b, pw, 1, 'valid'))) as tf.Scalar;
      });
    const w = tf.tensor4d(w0, [3, 3, 3, 4]);
    const grad = tf.tidy(() => tf.grad(loss)(w).dataSync());
    for (const k of [0, 17, 40, 77, 107]) {
      const step = 1e-2;
      const at = (delta: number) => {
        const moved = Float32Array.from(w0);
        moved[k]! += delta;
        const t = tf.tensor4d(moved, [3, 3, 3, 4]);
        const value = loss(t).dataSync()[0]!;
        t.dispose();
        return value;
      };
      const numeric = (at(step) - at(-step)) / (2 * step);
      expect(Math.abs(grad[k]! - numeric)).toBeLessThan(2e-2 * (1 + Math.abs(numeric)));
    }
    tf.dispose([x, dw, mean, variance, pw, offset, scale, w]);
  });
});

describe('wasm kernel hygiene', () => {
  it('leaves no tensor and no heap allocation behind across training steps', async () => {
    await switchBackend('convolutions');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const x = tf.tensor4d(values(2 * 9 * 9 * 3, 30), [2, 9, 9, 3]);
    const variables = [tf.variable(tf.tensor4d(values(27 * 8, 31), [3, 3, 3, 8])), tf.variable(tf.tensor4d(values(9 * 8, 32), [3, 3, 8, 1])), tf.variable(tf.tensor1d(values(8, 33)))];
    const [w, d, gamma] = variables as [tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R1>];
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const a = tf.relu(tf.conv2d(x, w, 2, 'same'));
          const b = tf.batchNorm(tf.depthwiseConv2d(a, d, 2, 'valid'), tf.zeros([8]), tf.ones([8]), tf.zeros([8]), gamma, 1e-3);
          return tf.sum(tf.clipByValue(b, 0, 6)) as tf.Scalar;
        }, variables);
        variables.forEach((v) => v.assign(tf.sub(v, tf.mul(grads[v.name]!, 1e-3))));
      });
    step();
    const tensors = tf.memory().numTensors;
    const data = backend.numDataIds();
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(data);
    tf.dispose([x, ...variables]);
  });

  it('kernels.wasm.ts is what kernels.as.ts compiles to (run npm run build:kernels after editing it)', async () => {
    const text = moduleText(await compileKernels()) as string;
    expect(text).toContain(KERNELS_WASM_BASE64);
  });
});
