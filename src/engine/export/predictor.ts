// One way to classify pixels, whatever the model is: a training run (the app's own path: feature
// extractor + head), an exported TF.js folder, or an exported ONNX file. 'model/predict', the CLI and
// export verification all go through here, so what they print is what the app would say.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';
import { EngineError } from '../../shared/rpc';
import type { ExportFormat } from '../../shared/types';
import { getBackbone } from '../backbones/catalog';
import { loadLayersModelFromFolder } from '../backbones/model-io';
import type { ResizeRecipe } from '../dataset/decode';
import { flipHorizontal } from '../features/augment';
import { createExtractor } from '../features/extractor';
import { FORMATS, type Runner } from './formats';
import { loadOnnxRunner } from './formats/onnx';
import { isRunDir, readRun, type RunInfo } from '../run';
import { loadRunFeatureModel } from './classifier';
import { withBackend } from '../compute';
import { predictArray, predictPixels } from '../predict-array';

export interface Predictor {
  kind: 'run' | ExportFormat;
  labels: string[];
  recipe: ResizeRecipe;
  /** What computes the answer, e.g. 'onnxruntime-cpu x2 + tfjs-wasm head'. */
  runtime: string;
  /** pixels: n*size*size*3 RGB 0-255 NHWC. Returns n*labels.length probabilities, a row per image. */
  predict(pixels: Uint8Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

/**
 * A predictor for a run folder, an exported model folder, or a .onnx file. Loading and each
 * prediction are inference work of the compute owner: phases of the job that calls them, or jobs
 * of their own when called from outside one.
 */
export async function createPredictor(source: string): Promise<Predictor> {
  const predictor = await withBackend('inference', () => open(source));
  return { ...predictor, predict: (pixels, n) => withBackend('inference', () => predictor.predict(pixels, n)) };
}

async function open(source: string): Promise<Predictor> {
  const target = path.resolve(source);
  if (!fs.existsSync(target)) throw new EngineError('predict/no-model', `There is no model at ${target}. Give a run folder, an exported model folder or a .onnx file.`);
  if (fs.statSync(target).isFile()) {
    if (target.toLowerCase().endsWith('.onnx')) return onnxFilePredictor(target);
    throw new EngineError('predict/not-a-model', `${target} is not a model. Give a run folder, an exported model folder or a .onnx file.`);
  }
  if (isRunDir(target)) return runPredictor(await readRun(target));
  const metadataFile = path.join(target, 'metadata.json');
  if (fs.existsSync(metadataFile)) {
    const meta = JSON.parse(await fs.promises.readFile(metadataFile, 'utf8')) as { format?: string; labels?: string[]; recipe?: ResizeRecipe };
    const format = FORMATS[meta.format as keyof typeof FORMATS];
    if (format && Array.isArray(meta.labels) && meta.recipe) {
      return fromRunner(format.id, await format.load(target), meta.labels, meta.recipe);
    }
  }
  if (fs.existsSync(path.join(target, 'model.onnx'))) return onnxFilePredictor(path.join(target, 'model.onnx'));
  throw new EngineError('predict/not-a-model', `${target} holds no Foldwise model: expected a training run (with a model head and a training result) or an export (metadata.json with model.json or model.onnx).`);
}

function fromRunner(kind: Predictor['kind'], runner: Runner, labels: string[], recipe: ResizeRecipe): Predictor {
  return {
    kind,
    labels,
    recipe,
    runtime: runner.runtime,
    predict: (pixels, n) => runner.run(Float32Array.from(pixels), n),
    dispose() {
      runner.dispose();
    },
  };
}

async function onnxFilePredictor(file: string): Promise<Predictor> {
  // Labels and recipe: metadata.json beside the file, else the metadata the exporter put inside it.
  const beside = path.join(path.dirname(file), 'metadata.json');
  let labels: string[] | undefined;
  let recipe: ResizeRecipe | undefined;
  if (fs.existsSync(beside)) {
    const meta = JSON.parse(await fs.promises.readFile(beside, 'utf8')) as { labels?: string[]; recipe?: ResizeRecipe };
    labels = meta.labels;
    recipe = meta.recipe;
  }
  if (!labels || !recipe) {
    const props = onnx.ModelProto.decode(await fs.promises.readFile(file)).metadataProps ?? [];
    const prop = (key: string) => props.find((p) => p.key === key)?.value;
    labels ??= prop('labels') ? (JSON.parse(prop('labels')!) as string[]) : undefined;
    recipe ??= prop('recipe') ? (JSON.parse(prop('recipe')!) as ResizeRecipe) : undefined;
  }
  if (!labels || !recipe) {
    throw new EngineError('predict/no-labels', `${file} does not say which classes it predicts: keep the metadata.json that was exported with it in the same folder.`);
  }
  return fromRunner('onnx', await loadOnnxRunner(file), labels, recipe);
}

/** The app's own predictions for a run: cached-feature route (extractor) + the trained head. */
async function runPredictor(run: RunInfo): Promise<Predictor> {
  const spec = getBackbone(run.backbone);
  const head = await loadLayersModelFromFolder(run.headDir);
  let embed: (pixels: Uint8Array, n: number) => Promise<Float32Array>;
  let runtime: string;
  let release: () => void;
  if (run.backboneDir) {
    // Fine-tuned: the run's own feature model, in tfjs.
    const features = await loadRunFeatureModel(run);
    embed = (pixels, n) => predictPixels(features, pixels, n);
    runtime = `tfjs-${tf.getBackend()} (fine-tuned backbone)`;
    release = () => features.dispose();
  } else {
    // In this thread: a predictor is made per export or predict call, and starting workers costs more than it saves on a few hundred photos.
    const extractor = await createExtractor(run.backbone, { workers: 0 });
    embed = (pixels, n) => extractor.embed(pixels, n);
    runtime = extractor.backend;
    release = () => extractor.dispose();
  }
  const featureSize = head.inputs[0]!.shape[1]!;
  const size = spec.inputSize;
  const probabilities = async (pixels: Uint8Array, n: number) => {
    const features = await embed(pixels, n);
    return predictArray(head, () => tf.tensor2d(features, [n, featureSize]));
  };
  return {
    kind: 'run',
    labels: run.classes,
    recipe: spec.recipe,
    runtime: `${runtime} + tfjs-${tf.getBackend()} head${run.tta ? ', mean of photo and mirror' : ''}`,
    async predict(pixels, n) {
      const centre = await probabilities(pixels, n);
      if (!run.tta) return centre;
      // As training scored it: the mean of the photo's and its mirror image's probabilities.
      const mirrored = new Uint8Array(pixels.length);
      const one = size * size * 3;
      for (let i = 0; i < n; i++) mirrored.set(flipHorizontal(pixels.subarray(i * one, (i + 1) * one), size), i * one);
      const flipped = await probabilities(mirrored, n);
      return centre.map((p, k) => (p + flipped[k]!) / 2);
    },
    dispose() {
      release();
      head.dispose();
    },
  };
}
