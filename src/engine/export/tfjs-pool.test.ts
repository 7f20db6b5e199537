import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { switchBackend } from '../compute';
import { startTfjsRunners } from './tfjs-pool';
import { writeArtifactsToDir } from './tfjs-io';
import { graphFromModel } from './graph';
import { graphToGraphModel } from './graph/tfjs-graph';

let tmp: string;
let model: tf.LayersModel;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-tfjs-pool-'));
  await switchBackend('inference');
  // A small image model whose answer differs for every image, so a piece returned out of order shows.
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(conv) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(flat) as tf.SymbolicTensor;
  model = tf.model({ inputs: input, outputs: out });
  // Written the way the TF.js export writes models.
  await writeArtifactsToDir(graphToGraphModel(graphFromModel(model).graph), path.join(tmp, 'model'));
});
afterAll(async () => {
  model.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('startTfjsRunners', () => {
  it('runs the written model in this thread and in worker threads, and returns every image in order', async () => {
    const loader = startTfjsRunners(3, { waitForWorkers: true });
    try {
      const runner = await loader.load(path.join(tmp, 'model'));
      expect(runner.runtime).toBe('tfjs-wasm in this thread + 2 worker threads');
      expect(runner.inputSize).toBe(8);
      const n = 23; // pieces of 4 spread over three copies, the last one short
      const pixels = Float32Array.from({ length: n * 8 * 8 * 3 }, (_, i) => (i * 37) % 256);
      // Two batches at once, as verification sends them.
      const [a, b] = await Promise.all([runner.run(pixels.slice(), n), runner.run(pixels.slice(0, 5 * 192), 5)]);
      const expected = tf.tidy(() => (model.predict(tf.tensor4d(pixels, [n, 8, 8, 3])) as tf.Tensor).dataSync());
      expect(a).toHaveLength(n * 3);
      for (let k = 0; k < a.length; k++) expect(Math.abs(a[k]! - expected[k]!)).toBeLessThan(1e-6);
      expect(Array.from(b)).toEqual(Array.from(a.subarray(0, 15)));
      await expect(runner.run(new Float32Array(10), 1)).rejects.toThrow(/Expected 1 images of 8x8x3 pixels/);
    } finally {
      loader.dispose();
    }
  });

  it('starts in this thread while the workers boot, and they join the same run', async () => {
    const loader = startTfjsRunners(2);
    try {
      const runner = await loader.load(path.join(tmp, 'model'));
      const pixels = Float32Array.from({ length: 9 * 8 * 8 * 3 }, (_, i) => (i * 11) % 256);
      const expected = tf.tidy(() => (model.predict(tf.tensor4d(pixels, [9, 8, 8, 3])) as tf.Tensor).dataSync());
      // Batches until the worker has joined (it boots tfjs, about a second), each checked.
      for (let round = 0; round < 400 && !runner.runtime.includes('worker'); round++) {
        const got = await runner.run(pixels.slice(), 9);
        for (let k = 0; k < got.length; k++) expect(Math.abs(got[k]! - expected[k]!)).toBeLessThan(1e-6);
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(runner.runtime).toBe('tfjs-wasm in this thread + 1 worker thread');
      const got = await runner.run(pixels.slice(), 9);
      for (let k = 0; k < got.length; k++) expect(Math.abs(got[k]! - expected[k]!)).toBeLessThan(1e-6);
    } finally {
      loader.dispose();
    }
  });

  it('says which file is missing when the folder holds no model', async () => {
    const loader = startTfjsRunners(2);
    try {
      await expect(loader.load(path.join(tmp, 'nothing-here'))).rejects.toThrow(/Cannot read the model file .*nothing-here/);
    } finally {
      loader.dispose();
    }
  });
});
