// `review/heatmap`: Grad-CAM for any photo under a finished run's model, as a PNG overlay the UI can
// show. The models of the last run asked about stay loaded, so clicking through top losses is quick.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../../shared/rpc';
import type { Heatmap } from '../../shared/types';
import { getBackbone, type BackboneSpec } from '../backbones/catalog';
import { splitAtHeatmapLayer } from '../backbones/load';
import { decodeForModel, ImageProblem, type ResizeRecipe } from '../dataset/decode';
import { withBackend } from '../compute';
import { gradCam, type CamModel } from './gradcam';
import { overlayPng } from './overlay';
import { loadRunModels } from '../export/classifier';
import { readRun, runStamp, type RunInfo } from '../run';
import { argmax } from '../../shared/argmax';

export interface HeatmapOptions {
  /** Class to explain; the predicted class when left out. */
  classIndex?: number;
  /** Side of the square overlay in pixels (the model's centre crop, shown sharper than the model saw it). */
  size?: number;
  signal?: AbortSignal;
}

/** What a heatmap call returns: the Heatmap contract plus the raw grid, for tests and tools. */
export interface HeatmapResult extends Heatmap {
  /** Coarse Grad-CAM grid, row-major, max 1. */
  cam: Float32Array;
  camHeight: number;
  camWidth: number;
  scoreKind: 'logit' | 'log-probability';
}

interface LoadedRun {
  run: RunInfo;
  spec: BackboneSpec;
  model: CamModel;
  dispose(): void;
}

export const DEFAULT_OVERLAY_SIZE = 448;

/** Finds the photo: an existing path, a file named in the run's saved predictions, or a path under the run's photo folder. */
async function locateImage(run: RunInfo, file: string): Promise<string> {
  if (path.isAbsolute(file) && fs.existsSync(file)) return file;
  const saved = run.predictions.find((p) => p.file === file || p.id === file);
  if (saved?.path && fs.existsSync(saved.path)) return saved.path;
  if (fs.existsSync(path.join(run.root, file))) return path.join(run.root, file);
  if (fs.existsSync(file)) return path.resolve(file);
  throw new EngineError('image/missing', `Cannot find the photo ${file}. Give its full path, or check that the photo folder this model was trained on is still there.`, { file });
}

async function loadRun(runDir: string): Promise<LoadedRun> {
  const run = await readRun(runDir);
  const spec = getBackbone(run.backbone);
  const { features, head } = await loadRunModels(run);
  const { toConv, fromConv } = splitAtHeatmapLayer(features);
  return {
    run,
    spec,
    model: { toConv, fromConv, head },
    dispose: () => {
      features.dispose();
      head.dispose();
    },
  };
}

async function decode(file: string, recipe: ResizeRecipe): Promise<Uint8Array> {
  try {
    return await decodeForModel(file, recipe);
  } catch (error) {
    if (error instanceof ImageProblem) {
      throw new EngineError('image/unreadable', `${file} cannot be used as a photo (${error.kind}): ${error.message}. Choose another photo.`, { file, kind: error.kind });
    }
    throw error;
  }
}

/** Class probabilities of the photo's mirror image, for runs whose answers average the photo and its mirror (TTA). */
async function mirroredProbabilities(model: CamModel, input: tf.Tensor4D): Promise<number[]> {
  const probs = tf.tidy(() => model.head.apply(model.fromConv(model.toConv.apply(tf.reverse(input, 2)) as tf.Tensor4D)) as tf.Tensor2D);
  const values = Array.from(await probs.data());
  probs.dispose();
  return values;
}

/** The centre crop's probabilities, averaged with the mirror image's when the run uses TTA. */
const asReviewed = (centre: number[], mirror: number[] | null) => (mirror ? centre.map((p, i) => (p + mirror[i]!) / 2) : centre);

export interface Heatmapper {
  heatmap(runDir: string, file: string, options?: HeatmapOptions): Promise<HeatmapResult>;
  /** Frees the models kept for the last run. */
  dispose(): void;
}

export function createHeatmapper(): Heatmapper {
  let loaded: LoadedRun | null = null;
  let loadedFrom: string | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  const heatmapNow = async (runDir: string, file: string, options: HeatmapOptions): Promise<HeatmapResult> => {
    const { signal } = options;
    const key = path.resolve(runDir);
    // A run folder can be retrained in place, so check it on every call; reload when it changed.
    const stamp = runStamp(key);
    if (!loaded || loadedFrom !== stamp) {
      loaded?.dispose();
      loaded = null;
      loaded = await loadRun(key);
      loadedFrom = stamp;
    }
    signal?.throwIfAborted();
    const { run, spec, model } = loaded;
    if (options.classIndex !== undefined && (options.classIndex < 0 || options.classIndex >= run.classes.length)) {
      throw new EngineError('review/unknown-class', `Class ${options.classIndex} does not exist: this model knows ${run.classes.map((c, i) => `${i} = ${c}`).join(', ')}.`, { classIndex: options.classIndex });
    }
    const image = await locateImage(run, file);
    const pixels = await decode(image, spec.recipe);
    signal?.throwIfAborted();
    const input = tf.tensor4d(pixels, [1, spec.recipe.size, spec.recipe.size, 3], 'float32');
    let result;
    let mirror: number[] | null = null;
    try {
      mirror = run.tta ? await mirroredProbabilities(model, input) : null;
      result = await gradCam(model, input, options.classIndex ?? ((centre) => argmax(asReviewed(centre, mirror))));
    } finally {
      input.dispose();
    }
    // The answer and percentage as review and the saved predictions have them, so the heatmap agrees with the rest of the app.
    const probabilities = asReviewed(result.probabilities, mirror);
    const size = options.size ?? DEFAULT_OVERLAY_SIZE;
    const photo = size === spec.recipe.size ? pixels : await decode(image, { ...spec.recipe, size }); // the model's own recipe, sharper
    const png = await overlayPng(photo, size, result.cam, result.height, result.width);
    const top = argmax(probabilities);
    return {
      file,
      predicted: run.classes[top]!,
      probability: probabilities[top]!,
      classIndex: result.classIndex,
      png: png.toString('base64'),
      cam: result.cam,
      camHeight: result.height,
      camWidth: result.width,
      scoreKind: result.scoreKind,
    };
  };

  return {
    heatmap(runDir, file, options = {}) {
      // One at a time: two calls must not load or dispose the same models under each other.
      // The gradient only runs through pooling and the dense head (never back through convolutions), so
      // every inference backend has the kernels (gradcam.test.ts). Asked for as a job of the compute owner,
      // it waits for a running training instead of switching the backend under it.
      const next = queue.then(() => withBackend('inference', () => heatmapNow(runDir, file, options)));
      queue = next.catch(() => undefined);
      return next;
    },
    dispose() {
      loaded?.dispose();
      loaded = null;
      loadedFrom = null;
    },
  };
}
