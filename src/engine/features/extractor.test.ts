import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeForModel } from '../dataset/decode';
import { sharedDir } from '../paths';
import { describeBackend } from '../compute';
import { createExtractor, type Extractor } from './extractor';

const BACKBONE = 'mobilenet_v2_035';
const RECIPE = { size: 224, resize: 'shorter-side', crop: 'center', interpolation: 'bilinear' } as const;
let pixels: Uint8Array;
const N = 3;
let reference: Float32Array;
let tfjsExtractor: Extractor;

beforeAll(async () => {
  process.env.FOLDWISE_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-extractor-'));
  const dir = path.join(sharedDir(), 'datasets', 'dogs_vs_cats', 'test');
  const files = [path.join(dir, 'cats', 'cat.4001.jpg'), path.join(dir, 'dogs', 'dog.4001.jpg'), path.join(dir, 'dogs', 'dog.4002.jpg')];
  const decoded = await Promise.all(files.map((f) => decodeForModel(f, RECIPE)));
  pixels = new Uint8Array(N * 224 * 224 * 3);
  decoded.forEach((p, i) => pixels.set(p, i * p.length));
  tfjsExtractor = await createExtractor(BACKBONE, { route: 'tfjs' });
  reference = await tfjsExtractor.embed(pixels, N);
});

afterAll(() => tfjsExtractor?.dispose());

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('feature extractor routes', () => {
  it('tfjs gives one 1280-long, non-trivial vector per photo, and different photos differ', () => {
    expect(reference.length).toBe(N * 1280);
    expect(reference.every(Number.isFinite)).toBe(true);
    const cat = reference.subarray(0, 1280);
    const dog = reference.subarray(1280, 2560);
    expect(Math.max(...cat)).toBeGreaterThan(0.1);
    expect(maxAbsDiff(cat.slice(), dog.slice())).toBeGreaterThan(0.1);
  });

  it('keeps the tensor count flat across repeated embed calls', async () => {
    const one = pixels.subarray(0, 224 * 224 * 3);
    await tfjsExtractor.embed(one, 1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) await tfjsExtractor.embed(one, 1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('onnxruntime agrees with tfjs on real photos', async () => {
    const onnx = await createExtractor(BACKBONE, { route: 'onnxruntime', threads: 2 });
    try {
      expect(onnx.route).toBe('onnxruntime');
      expect(maxAbsDiff(await onnx.embed(pixels, N), reference)).toBeLessThan(1e-3);
      // The same session in this thread (no workers) gives the same numbers.
      const inThread = await createExtractor(BACKBONE, { route: 'onnxruntime', threads: 1, workers: 0 });
      expect(maxAbsDiff(await inThread.embed(pixels, N), reference)).toBeLessThan(1e-3);
      inThread.dispose();
      // The converted model is cached: a second extractor reuses the file.
      const files = fs.readdirSync(path.join(process.env.FOLDWISE_CACHE!, 'onnx'));
      expect(files.filter((f) => f.endsWith('.onnx'))).toHaveLength(1);
    } finally {
      onnx.dispose();
    }
  });

  it('closing an onnxruntime extractor while it runs (a cancel) waits for the run, not crashing the process', async () => {
    const onnx = await createExtractor(BACKBONE, { route: 'onnxruntime', threads: 2 });
    const running = onnx.embed(pixels, N);
    onnx.dispose(); // terminating its workers now aborted the whole process (Napi::Error)
    expect(maxAbsDiff(await running, reference)).toBeLessThan(1e-3);
    await expect(onnx.embed(pixels, N)).rejects.toThrow('closed');
    const next = await createExtractor(BACKBONE, { route: 'onnxruntime', threads: 2 });
    expect(maxAbsDiff(await next.embed(pixels, N), reference)).toBeLessThan(1e-3);
    next.dispose();
  });

  it('wasm worker threads agree with tfjs on real photos, splitting a batch between workers', async () => {
    const wasm = await createExtractor(BACKBONE, { route: 'wasm-workers', threads: 2 });
    try {
      expect(wasm.route).toBe('wasm-workers');
      expect(wasm.backend).toBe('tfjs-wasm x2');
      expect(maxAbsDiff(await wasm.embed(pixels, N), reference)).toBeLessThan(1e-3);
    } finally {
      wasm.dispose();
    }
  });

  it('auto picks the fastest usable route and says why the faster ones were skipped', async () => {
    const auto = await createExtractor(BACKBONE, { threads: 2 });
    try {
      if (tf.getBackend() === 'tensorflow') {
        expect(auto.route).toBe('tfjs-node');
      } else {
        expect(auto.route).toBe('onnxruntime');
        expect(auto.notes).toMatch(/tfjs-node\) was not used/);
        expect((await describeBackend()).reasons.join(' ')).toContain(auto.notes);
      }
      expect(auto.notes).toMatch(/Features run on/);
    } finally {
      auto.dispose();
    }
  });

  it('rejects pixels of the wrong size with a clear message', async () => {
    await expect(tfjsExtractor.embed(new Uint8Array(10), 1)).rejects.toThrow(/embed expects 1x224x224x3 pixels/);
  });
});
