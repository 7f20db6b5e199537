// The Core ML writer on a real backbone (the tiny MobileNet v1 0.25) with a small head: Apple's own
// validator must accept what it writes, with and without the mirror, and refuse a model with a wrong
// weight count; the writer itself refuses a specification version too old for its layers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureModel } from '../../backbones/load';
import { graphFromModel, type ExportGraph } from '../graph';
import { layerKind, type Layer } from './layers';
import { classifierSpec, encodeMlmodel, SPEC_VERSION } from './model';
import { decodeSpec, encodeSpec, type MlModelSpec } from './proto';
import { coremlValidator, runCoremlValidator } from './validate';
import { checkMlmodel } from '../formats/coreml';
import { interpretClassifier } from './reference.test-helpers';
import { getBackbone } from '../../backbones/catalog';
import { decodeForModel } from '../../dataset/decode';
import { flipHorizontal } from '../../features/augment';
import { sharedDir } from '../../paths';

const labels = ['ants', 'bees', 'wasps'];
const names = { input: 'image', probabilities: 'probabilities', label: 'label' };
const about = { summary: 'test', author: 'Foldwise', version: 'test', inputHelp: 'a photo', notes: { labels: JSON.stringify(labels) } };
let graph: ExportGraph;
let classifier: tf.LayersModel;
let tmp: string;
const validator = coremlValidator();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-coreml-'));
  const features = await loadFeatureModel('mobilenet_v1_025');
  const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [features.outputs[0]!.shape[1]!], units: labels.length, activation: 'softmax' })] });
  const model = tf.model({ inputs: features.inputs, outputs: head.apply(features.outputs[0]!) as tf.SymbolicTensor });
  graph = graphFromModel(model).graph;
  classifier = model;
});

afterAll(() => {
  classifier.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const layersOf = (spec: MlModelSpec) => (spec.neuralNetworkClassifier as { layers: Layer[] }).layers;

async function apple(bytes: Uint8Array, name: string) {
  const file = path.join(tmp, `${name}.mlmodel`);
  fs.writeFileSync(file, bytes);
  return runCoremlValidator(validator!, file);
}

describe('Core ML writer', () => {
  it('writes an image classifier with labels, the scaling inside and ReLU6 as clip layers (version 4)', () => {
    const spec = decodeSpec(encodeMlmodel(classifierSpec(graph, labels, names, about)));
    expect(spec.specificationVersion).toBe(SPEC_VERSION);
    const description = spec.description as { input: { name: string; type: unknown }[]; output: { name: string; type: object }[]; predictedFeatureName: string; predictedProbabilitiesName: string };
    expect(description.input).toMatchObject([{ name: 'image', type: { imageType: { width: 224, height: 224, colorSpace: 'RGB' } } }]);
    expect(description.output.map((o) => [o.name, Object.keys(o.type)[0]])).toEqual([
      ['label', 'stringType'],
      ['probabilities', 'dictionaryType'],
    ]);
    expect(description).toMatchObject({ predictedFeatureName: 'label', predictedProbabilitiesName: 'probabilities' });
    const nn = spec.neuralNetworkClassifier as { stringClassLabels: { vector: string[] }; preprocessing: { scaler: Record<string, number> }[]; labelProbabilityLayerName: string };
    expect(nn.stringClassLabels.vector).toEqual(labels);
    expect(nn.labelProbabilityLayerName).toBe('probabilities');
    // MobileNet's x/127.5 - 1 as the image input's own preprocessing.
    expect(nn.preprocessing[0]!.scaler.channelScale).toBeCloseTo(1 / 127.5, 7);
    expect(nn.preprocessing[0]!.scaler).toMatchObject({ redBias: -1, greenBias: -1, blueBias: -1 });
    const kinds = layersOf(spec).map(layerKind);
    expect(kinds.filter((k) => k === 'convolution')).toHaveLength(27); // 14 convolutions + 13 depthwise
    expect(kinds.filter((k) => k === 'clip')).toHaveLength(27);
    expect(kinds.slice(-3)).toEqual(['pooling', 'innerProduct', 'softmax']);
  });

  it.skipIf(!validator)("is VALID under Apple's validator, with and without the mirror (test-time augmentation)", async () => {
    const plain = await apple(encodeMlmodel(classifierSpec(graph, labels, names, about)), 'plain');
    expect(plain).toMatchObject({ valid: true });
    const mirrored = classifierSpec({ ...graph, mirrorAverage: true }, labels, names, about);
    expect(layersOf(mirrored).filter((l) => 'permute' in l)).toHaveLength(2);
    expect(await apple(encodeMlmodel(mirrored), 'mirrored')).toMatchObject({ valid: true });
  });

  it.skipIf(!validator)("a wrong weight count is refused by Foldwise's checks and by Apple's validator", async () => {
    const spec = classifierSpec(graph, labels, names, about);
    const conv = layersOf(spec).find((l) => 'convolution' in l)!;
    const weights = (conv.convolution as { weights: { floatValue: number[] } }).weights;
    weights.floatValue = weights.floatValue.slice(1);
    expect(() => encodeMlmodel(spec)).toThrow(/has 215 weight values where its shape needs 216/);
    const answer = await apple(encodeSpec(spec), 'broken'); // written without Foldwise's checks
    expect(answer.valid).toBe(false);
    expect(answer.message).toMatch(/INVALID/);
  });

  it('refuses a specification version too old for the clip layer, which Apple’s validator would let through', async () => {
    const spec = { ...classifierSpec(graph, labels, names, about), specificationVersion: 3 };
    expect(() => encodeMlmodel(spec)).toThrow(/clip layer, which needs Core ML specification version 4 or later, but declares version 3/);
    if (validator) console.log(`Apple's validator on the same model at version 3: ${(await apple(encodeSpec(spec), 'version3')).message}`);
  });

  it("without Apple's validator, reads the file back and checks it itself, and says so", async () => {
    const file = path.join(tmp, 'fallback.mlmodel');
    fs.writeFileSync(file, encodeMlmodel(classifierSpec(graph, labels, names, about)));
    const before = process.env.FOLDWISE_SHARED;
    process.env.FOLDWISE_SHARED = path.join(tmp, 'no-shared-here');
    try {
      const check = await checkMlmodel(file);
      expect(check).toMatchObject({ kind: 'structure', answer: 'VALID' });
      expect(check.checker).toMatch(/^Foldwise's own checks \(Apple's validator is not installed on this computer\)$/);
      expect(check.summary).toBe("structure checked by Foldwise's own checks, not Apple's validator; predictions not checked (needs a Mac)");
      // A file that does not read back right is refused.
      const spec = decodeSpec(fs.readFileSync(file));
      const inner = layersOf(spec).find((l) => l.layer === 'innerProduct')!.innerProduct as { weights: { floatValue: number[] } };
      inner.weights.floatValue.push(0);
      fs.writeFileSync(file, encodeSpec(spec));
      await expect(checkMlmodel(file)).rejects.toMatchObject({ name: 'export/structure-invalid' });
    } finally {
      if (before === undefined) delete process.env.FOLDWISE_SHARED;
      else process.env.FOLDWISE_SHARED = before;
    }
  });

  it("run by an interpreter of Apple's documented layer semantics, gives the model's own probabilities (photo, and photo + mirror)", async () => {
    // Not Core ML itself (nothing here runs it): this checks the weight layouts, paddings and mirror the writer chose.
    const photos = ['bees'].map((c) => {
      const dir = path.join(sharedDir(), 'datasets', 'hymenoptera', 'val', c);
      return path.join(dir, fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort()[0]!);
    });
    const recipe = getBackbone('mobilenet_v1_025').recipe;
    const plain = decodeSpec(encodeMlmodel(classifierSpec(graph, labels, names, about)));
    const mirrored = decodeSpec(encodeMlmodel(classifierSpec({ ...graph, mirrorAverage: true }, labels, names, about)));
    let worst = 0;
    for (const photo of photos) {
      const pixels = await decodeForModel(photo, recipe);
      const flipped = flipHorizontal(pixels, 224);
      const [own, ownFlipped] = [pixels, flipped].map((px) => tf.tidy(() => (classifier.predict(tf.tensor4d(Float32Array.from(px), [1, 224, 224, 3])) as tf.Tensor).dataSync()));
      const expectations: [MlModelSpec, number[]][] = [
        [plain, Array.from(own!)],
        [mirrored, Array.from(own!, (p, i) => (p + ownFlipped![i]!) / 2)],
      ];
      for (const [spec, expected] of expectations) {
        const got = interpretClassifier(spec, pixels, 224);
        expected.forEach((p, i) => (worst = Math.max(worst, Math.abs(p - got[i]!))));
      }
    }
    console.log(`reference interpreter vs the model: largest probability difference ${worst.toExponential(1)}`);
    expect(worst).toBeLessThan(1e-4);
  });
});
