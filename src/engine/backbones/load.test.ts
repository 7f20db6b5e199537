// Real weights, real photos: proves that loading, cutting and the built-in preprocessing are right.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBackend } from '../compute';
import { sharedDir } from '../paths';
import { BACKBONES, getBackbone } from './catalog';
import { FEATURE_MODEL_LAYERS, loadBackbone, loadImagenetModel, preprocess, splitAtHeatmapLayer } from './load';

const photos = path.join(sharedDir(), 'datasets', 'dogs_vs_cats', 'test');
let cache: string;
beforeAll(async () => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-bb-load-'));
  await ensureBackend(); // the engine's inference backend (wasm here), not the slow default 'cpu'
});
afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));
// Never the bundled folder or a download here: these tests are about loading the shared weights.
const where = () => ({ bundledDir: null, cacheDir: cache, download: false });

async function pixelsOf(files: string[]): Promise<tf.Tensor4D> {
  const rows = await Promise.all(files.map((f) => sharp(f).resize(224, 224, { fit: 'cover' }).removeAlpha().raw().toBuffer()));
  const data = new Float32Array(rows.length * 224 * 224 * 3);
  rows.forEach((row, i) => data.set(row, i * row.length));
  return tf.tensor4d(data, [rows.length, 224, 224, 3]);
}

function firstPhotos(kind: 'dogs' | 'cats', n: number): string[] {
  return fs.readdirSync(path.join(photos, kind)).sort().slice(0, n).map((f) => path.join(photos, kind, f));
}

// ImageNet class indices: 151..268 are dog breeds, 281..285 domestic cats.
const DOGS: [number, number] = [151, 268];
const CATS: [number, number] = [281, 285];
const inRange = (i: number, [lo, hi]: [number, number]) => i >= lo && i <= hi;

describe('MobileNet V1 0.25 from ../shared/weights', () => {
  it('recognises dogs and cats with its ImageNet head, so weights and preprocessing are right', async () => {
    const { spec, model } = await loadImagenetModel('mobilenet_v1_025', where());
    const dogs = firstPhotos('dogs', 8);
    const cats = firstPhotos('cats', 8);
    const pixels = await pixelsOf([...dogs, ...cats]);
    const probs = tf.tidy(() => model.predict(preprocess(pixels, spec)) as tf.Tensor2D);
    const rows = (await probs.array()) as number[][];
    pixels.dispose();
    probs.dispose();
    model.dispose();

    const top1 = rows.map((p) => p.indexOf(Math.max(...p)));
    const dogsAsDogs = top1.slice(0, 8).filter((i) => inRange(i, DOGS)).length;
    const catsAsCats = top1.slice(8).filter((i) => inRange(i, CATS)).length;
    // Measured on these 16 photos: x/127.5-1 gives 7 and 3; raw 0-255 gives 0 and 0; x/255 gives 7 and 2;
    // BGR order gives 6 and 2. Alpha 0.25 is a weak classifier, so the bar is "clearly better than wrong input".
    expect(dogsAsDogs).toBeGreaterThanOrEqual(6);
    expect(catsAsCats).toBeGreaterThanOrEqual(3);
  });

  it('feature model takes raw pixels and equals the pooled conv_pw_13_relu of the original on preprocessed input', async () => {
    const spec = getBackbone('mobilenet_v1_025');
    const { model: original } = await loadImagenetModel('mobilenet_v1_025', where());
    const loaded = await loadBackbone('mobilenet_v1_025', where());
    expect(loaded.source).toBe('shared');
    expect(loaded.model.outputs[0]!.shape).toEqual([null, 256]);
    expect(loaded.convModel.outputs[0]!.shape).toEqual([null, 7, 7, 256]);

    const pixels = await pixelsOf(firstPhotos('dogs', 2));
    const pooled = tf.model({ inputs: original.inputs, outputs: original.getLayer('global_average_pooling2d_1').output as tf.SymbolicTensor });
    const expected = tf.tidy(() => (pooled.predict(preprocess(pixels, spec)) as tf.Tensor).reshape([2, 256]));
    const features = loaded.model.predict(pixels) as tf.Tensor2D;
    expect(features.shape).toEqual([2, 256]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(features, expected))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-4);
    // Features differ between photos (a constant output would pass the comparison above only by accident).
    const spread = tf.tidy(() => tf.max(tf.abs(tf.sub(features.slice([0, 0], [1, 256]), features.slice([1, 0], [1, 256])))).dataSync()[0]!);
    expect(spread).toBeGreaterThan(0.01);

    // Grad-CAM split: pooling the conv activations gives back the features.
    const { toConv, fromConv } = splitAtHeatmapLayer(loaded.model);
    const rebuilt = tf.tidy(() => fromConv(toConv.predict(pixels) as tf.Tensor4D));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(rebuilt, features))).dataSync()[0]!)).toBeLessThan(1e-5);

    // Saving and reloading (what export and fine-tuned runs do) keeps preprocessing and weights.
    let artifacts: tf.io.ModelArtifacts | undefined;
    await loaded.model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const reloaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(reloaded.getLayer(FEATURE_MODEL_LAYERS.preprocess).getClassName()).toBe('Rescaling');
    const again = reloaded.predict(pixels) as tf.Tensor;
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(again, features))).dataSync()[0]!)).toBeLessThan(1e-5);
    // A reloaded model still splits for Grad-CAM.
    expect(splitAtHeatmapLayer(reloaded).toConv.outputs[0]!.shape).toEqual([null, 7, 7, 256]);

    tf.dispose([pixels, expected, features, rebuilt, again]);
    [original, loaded.model, reloaded].forEach((m) => m.dispose());
  });
});

describe('every catalogued backbone', () => {
  it('loads from the shared weights, cuts where the catalog says, and gives finite features of the catalogued size', async () => {
    const pixels = await pixelsOf(firstPhotos('dogs', 1));
    for (const spec of BACKBONES) {
      const loaded = await loadBackbone(spec.id, where());
      expect(loaded.model.outputs[0]!.shape).toEqual([null, spec.featureSize]);
      expect(loaded.convModel.outputs[0]!.shape).toEqual([null, 7, 7, spec.heatmapChannels]);
      const trunk = loaded.model.getLayer(FEATURE_MODEL_LAYERS.trunk) as tf.LayersModel;
      expect(trunk.layers.at(-1)!.name).toBe(spec.heatmapLayer);
      const output = loaded.model.predict(pixels) as tf.Tensor;
      const features = await output.data();
      output.dispose();
      expect(features).toHaveLength(spec.featureSize);
      expect(features.every(Number.isFinite)).toBe(true);
      expect(Math.max(...features)).toBeGreaterThan(0);
      loaded.model.dispose();
    }
    pixels.dispose();
  });
});

describe('memory', () => {
  it('frees every loaded weight when the feature model is disposed, load after load', async () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const loaded = await loadBackbone('mobilenet_v1_025', where());
      expect(tf.memory().numTensors).toBeGreaterThan(before + 100); // the trunk's 135 weights are there
      loaded.model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});

describe('MobileNet V2 0.35 (Teachable Machine\'s backbone, half of the default pair)', () => {
  it('feature model takes raw pixels and matches the published model on preprocessed input', async () => {
    const spec = getBackbone('mobilenet_v2_035');
    const { model: original } = await loadImagenetModel('mobilenet_v2_035', where());
    const loaded = await loadBackbone('mobilenet_v2_035', where());
    expect(loaded.model.outputs[0]!.shape).toEqual([null, 1280]);
    expect(loaded.convModel.outputs[0]!.shape).toEqual([null, 7, 7, 1280]);
    const pixels = await pixelsOf(firstPhotos('cats', 2));
    const expected = tf.tidy(() => original.predict(preprocess(pixels, spec)) as tf.Tensor);
    const features = loaded.model.predict(pixels) as tf.Tensor;
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(features, expected))).dataSync()[0]!)).toBeLessThan(1e-4);
    expect(tf.tidy(() => tf.max(features).dataSync()[0]!)).toBeGreaterThan(0.1);
    tf.dispose([pixels, expected, features]);
    [original, loaded.model].forEach((m) => m.dispose());
  });
});

describe('both MobileNets side by side (the default pair)', () => {
  it("gives its parts' features side by side, and frees both parts' weights when disposed", async () => {
    const spec = getBackbone('mobilenet_pair');
    expect(spec.parts).toEqual(['mobilenet_v2_035', 'mobilenet_v1_075']);
    const before = tf.memory().numTensors;
    const pair = await loadBackbone('mobilenet_pair', where());
    const parts = await Promise.all(spec.parts!.map((id) => loadBackbone(id, where())));
    const pixels = await pixelsOf([...firstPhotos('dogs', 1), ...firstPhotos('cats', 1)]);
    const joined = tf.tidy(() => tf.concat(parts.map((p) => p.model.predict(pixels) as tf.Tensor), 1));
    const features = pair.model.predict(pixels) as tf.Tensor;
    expect(features.shape).toEqual([2, 1280 + 768]);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(features, joined))).dataSync()[0]!)).toBe(0);
    tf.dispose([pixels, joined, features]);
    parts.forEach((p) => p.model.dispose());
    pair.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('cannot be imported as one folder: it says to import its two parts', async () => {
    const { importBackbone } = await import('./import');
    await expect(importBackbone('mobilenet_pair', cache, where())).rejects.toThrow(/import each of those folders/);
  });
});
