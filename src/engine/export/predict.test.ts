import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prediction } from '../../shared/types';
import { exportModel } from './export';
import { predictFiles } from './predict';
import { createPredictor } from './predictor';
import * as tf from '@tensorflow/tfjs';
import { readRun } from '../run';
import { loadRunModels } from './classifier';
import { disposeModels } from './dispose-models';
import { saveLayersModelToDir } from './tfjs-io';
import { makeRunFixture, type RunFixture } from './run-fixture.test-helpers';

let tmp: string;
let fixture: RunFixture;
let photos: string;
const cacheBefore = process.env.FOLDWISE_CACHE;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-predict-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  fixture = await makeRunFixture(tmp, { trainPerClass: 6, validPerClass: 3 });

  // One photo in the shapes people's files come in, plus files that are not photos.
  photos = path.join(tmp, 'photos');
  fs.mkdirSync(path.join(photos, 'nested'), { recursive: true });
  const source = fixture.validFiles[0]!;
  await sharp(source).png().toFile(path.join(photos, 'a-upright.png'));
  // Stored turned a quarter left, with the EXIF tag that says "turn right to view".
  await sharp(source).rotate(270).withMetadata({ orientation: 6 }).tiff({ compression: 'lzw' }).toFile(path.join(photos, 'b-exif-rotated.tiff'));
  await sharp(source).toColourspace('rgb16').png().toFile(path.join(photos, 'c-16bit.png'));
  await sharp(source).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(path.join(photos, 'nested', 'd-cmyk.jpg'));
  fs.writeFileSync(path.join(photos, 'e-text.jpg'), 'this is not a photo');
  const jpeg = fs.readFileSync(source);
  fs.writeFileSync(path.join(photos, 'f-truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 3)));
  fs.writeFileSync(path.join(photos, 'notes.txt'), 'ignored: not an image extension');
});

afterAll(() => {
  process.env.FOLDWISE_CACHE = cacheBefore;
  fs.rmSync(tmp, { recursive: true, force: true });
});

const byName = (rows: Prediction[], name: string) => rows.find((r) => path.basename(r.file) === name)!;

describe('predict', () => {
  it('classifies a folder with the run, reporting unreadable files one by one', async () => {
    const predictor = await createPredictor(fixture.runDir);
    expect(predictor.kind).toBe('run');
    const missing = path.join(tmp, 'no-such-photo.jpg');
    const rows = await predictFiles(predictor, [photos, missing]);
    predictor.dispose();

    expect(rows.map((r) => path.basename(r.file))).toEqual(['a-upright.png', 'b-exif-rotated.tiff', 'c-16bit.png', 'e-text.jpg', 'f-truncated.jpg', 'd-cmyk.jpg', 'no-such-photo.jpg']);
    const upright = byName(rows, 'a-upright.png');
    expect(Object.keys(upright.probabilities!)).toEqual(fixture.classes);
    expect(Object.values(upright.probabilities!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(upright.label).toBe(Object.entries(upright.probabilities!).sort((a, b) => b[1] - a[1])[0]![0]);
    for (const name of ['b-exif-rotated.tiff', 'c-16bit.png', 'd-cmyk.jpg']) {
      const row = byName(rows, name);
      expect(row.error).toBeUndefined();
      expect(row.label).toBe(upright.label);
    }
    // EXIF orientation and 16 bits change resampling a little, not what the model sees.
    for (const name of ['b-exif-rotated.tiff', 'c-16bit.png']) {
      for (const c of fixture.classes) expect(Math.abs(byName(rows, name).probabilities![c]! - upright.probabilities![c]!)).toBeLessThan(0.02);
    }
    expect(byName(rows, 'e-text.jpg').error).toMatch(/not-an-image/);
    expect(byName(rows, 'f-truncated.jpg').error).toMatch(/Cannot use this file as a photo/);
    expect(byName(rows, 'no-such-photo.jpg').error).toMatch(/no such file/);
  });

  it('gives the same answers from the run, the TF.js export and the ONNX file', async () => {
    const files = [path.join(photos, 'a-upright.png'), ...fixture.validFiles.slice(1, 4)];
    const answers: Record<string, Prediction[]> = {};
    const tfjsDir = path.join(tmp, 'tfjs');
    const onnxDir = path.join(tmp, 'onnx');
    await exportModel(fixture.runDir, { format: 'tfjs', out: tfjsDir, maxImages: 4 });
    await exportModel(fixture.runDir, { format: 'onnx', out: onnxDir, maxImages: 4 });
    // A TF.js export from before exports were graph models: the same folder with a layers model.json.
    const layersDir = path.join(tmp, 'tfjs-layers');
    fs.cpSync(tfjsDir, layersDir, { recursive: true });
    const { features, head } = await loadRunModels(await readRun(fixture.runDir));
    const layers = tf.model({ inputs: features.inputs, outputs: head.apply(features.outputs[0]!) as tf.SymbolicTensor });
    await saveLayersModelToDir(layers, layersDir);
    disposeModels(features, head); // the joined model holds their layers
    const sources = [['run', fixture.runDir], ['tfjs', tfjsDir], ['onnx', path.join(onnxDir, 'model.onnx')], ['tfjs-layers', layersDir]] as const;
    for (const [name, source] of sources) {
      const predictor = await createPredictor(source);
      expect(predictor.kind).toBe(name === 'tfjs-layers' ? 'tfjs' : name);
      expect(predictor.labels).toEqual(fixture.classes);
      answers[name] = await predictFiles(predictor, files);
      predictor.dispose();
    }
    for (const name of ['tfjs', 'onnx', 'tfjs-layers']) {
      answers[name]!.forEach((row, i) => {
        const app = answers.run![i]!;
        expect(row.label).toBe(app.label);
        for (const c of fixture.classes) expect(Math.abs(row.probabilities![c]! - app.probabilities![c]!)).toBeLessThanOrEqual(1e-4);
      });
    }
    // A bare .onnx file moved away from its metadata.json still knows its labels (they are inside it).
    const lonely = path.join(tmp, 'lonely.onnx');
    fs.copyFileSync(path.join(onnxDir, 'model.onnx'), lonely);
    const predictor = await createPredictor(lonely);
    expect(predictor.labels).toEqual(fixture.classes);
    predictor.dispose();
  });

  it('says what to give it when the model path is wrong', async () => {
    await expect(createPredictor(path.join(tmp, 'nothing-here'))).rejects.toMatchObject({ name: 'predict/no-model' });
    await expect(createPredictor(photos)).rejects.toMatchObject({ name: 'predict/not-a-model' });
    await expect(createPredictor(path.join(photos, 'a-upright.png'))).rejects.toMatchObject({ name: 'predict/not-a-model' });
  });
});
