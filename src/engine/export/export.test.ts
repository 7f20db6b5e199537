import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeForModel } from '../dataset/decode';
import { packageRoot } from '../paths';
import { exportModel } from './export';
import { createPredictor } from './predictor';
import { makeRunFixture, type RunFixture } from './run-fixture.test-helpers';
import { dirLoader } from './tfjs-io';

let tmp: string;
let fixture: RunFixture;
const cacheBefore = process.env.FOLDWISE_CACHE;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-export-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  fixture = await makeRunFixture(tmp, { trainPerClass: 8, validPerClass: 5 });
});

afterAll(() => {
  process.env.FOLDWISE_CACHE = cacheBefore;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The app's own probabilities for the fixture's validation photos. */
async function appProbabilities(files: string[]): Promise<{ probs: Float32Array; labels: string[] }> {
  const app = await createPredictor(fixture.runDir);
  const size = app.recipe.size;
  const pixels = new Uint8Array(files.length * size * size * 3);
  for (const [i, f] of files.entries()) pixels.set(await decodeForModel(f, app.recipe), i * size * size * 3);
  const probs = await app.predict(pixels, files.length);
  app.dispose();
  return { probs, labels: app.labels };
}

describe('exportModel', () => {
  it('writes a TF.js model that stock tfjs reloads and that agrees with the app', async () => {
    const out = path.join(tmp, 'exports', 'tfjs');
    const result = await exportModel(fixture.runDir, { format: 'tfjs', out });
    expect(result.format).toBe('tfjs');
    expect(result.verified.images).toBe(10);
    expect(result.verified.agreement).toBe(1);
    expect(result.verified.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    for (const f of ['model.json', 'weights.bin', 'metadata.json', 'MODEL_CARD.md', 'MODEL_CARD.html', 'confusion-matrix.svg', 'demo.html', 'tf.min.js', 'predict.cjs']) {
      expect(result.files).toContain(f);
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    }
    // No temp folder left beside the export.
    expect(fs.readdirSync(path.dirname(out)).filter((f) => f.startsWith('.'))).toEqual([]);

    // Independently of the exporter: stock tf.loadLayersModel on the written files, one photo at a time.
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    expect(meta.labels).toEqual(fixture.classes);
    expect(meta.input).toMatchObject({ shape: [null, 224, 224, 3], range: [0, 255], name: 'pixels' });
    const model = await tf.loadLayersModel(dirLoader(out));
    const files = fixture.validFiles.slice(0, 4);
    const app = await appProbabilities(files);
    for (const [i, f] of files.entries()) {
      const px = await decodeForModel(f, meta.recipe);
      const probs = tf.tidy(() => (model.predict(tf.tensor4d(Float32Array.from(px), [1, 224, 224, 3])) as tf.Tensor).dataSync());
      for (let c = 0; c < 2; c++) expect(Math.abs(probs[c]! - app.probs[i * 2 + c]!)).toBeLessThan(1e-4);
    }
    model.dispose();
  });

  it('writes an ONNX model that onnxruntime runs, and its Node snippet prints the app’s answer', async () => {
    const out = path.join(tmp, 'exports', 'onnx');
    const result = await exportModel(fixture.runDir, { format: 'onnx', out });
    expect(result.verified).toMatchObject({ images: 10, agreement: 1 });
    expect(result.verified.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(result.files).toEqual(expect.arrayContaining(['model.onnx', 'metadata.json', 'MODEL_CARD.md', 'MODEL_CARD.html', 'predict.cjs', 'predict.py']));

    const files = fixture.validFiles.slice(0, 2);
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(out, 'predict.cjs'), ...files], {
      env: { ...process.env, NODE_PATH: path.join(packageRoot(), 'node_modules') },
    });
    const app = await appProbabilities(files);
    for (const [i, f] of files.entries()) {
      const best = app.probs[i * 2]! > app.probs[i * 2 + 1]! ? 0 : 1;
      expect(stdout).toContain(`${f}: ${app.labels[best]} (${(app.probs[i * 2 + best]! * 100).toFixed(1)}%)`);
    }
  });
});
