// The activation cache: every photo's activations at a cut inside the backbone (for top
// fine-tuning, train/steps/fine-tune-top.ts), computed once by the frozen part below the cut and
// kept on disk beside the feature cache, in the same checked file format (its own kind in the
// header) and keyed the same way (content id, backbone id, weights digest, transform) plus the cut.
// An epoch of top fine-tuning then reads these instead of decoding photos and running the frozen
// part again.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from '../backbones/catalog';
import { FEATURE_MODEL_LAYERS, loadFeatureModel } from '../backbones/load';
import { backboneWeightsDigest } from '../backbones/weights-digest';
import { decodeForModel } from '../dataset';
import { emptyTally, type CacheFormat, type CacheTally } from '../cache-file';
import { ensureBackend, withBackend } from '../compute';
import { cacheDir } from '../paths';
import { predictPixels } from '../predict-array';
import { flipHorizontal } from './augment';
import { createFeatureCache, FEATURE_FORMAT, featureKey, type FeatureCache } from './cache';
import { defaultThreads } from './extractor';
import type { DatasetFeatures, ScannedImage } from './pipeline';

/** A Foldwise feature model cut at `cut`: pixels 0-255 -> that layer's activations (shares the model's weights). */
export function modelToCut(model: tf.LayersModel, cut: string): tf.LayersModel {
  const trunk = model.getLayer(FEATURE_MODEL_LAYERS.trunk) as unknown as tf.LayersModel;
  const toCut = tf.model({ inputs: trunk.inputs, outputs: trunk.getLayer(cut).output as tf.SymbolicTensor });
  const scaled = model.getLayer(FEATURE_MODEL_LAYERS.preprocess).output as tf.SymbolicTensor;
  return tf.model({ inputs: model.inputs, outputs: toCut.apply(scaled) as tf.SymbolicTensor, name: `${model.name}_to_${cut}` });
}

/** Activations of some photos, one row of `size` floats per photo, in the order of `images`. */
export interface ActivationRows {
  data: Float32Array;
  labels: Int32Array;
  images: ScannedImage[];
}

/** Every photo's activations, row for row the same photos as the DatasetFeatures they were made for. */
export interface DatasetActivations {
  cut: string;
  shape: [number, number, number];
  size: number;
  train: ActivationRows;
  valid: ActivationRows;
  validFlip: ActivationRows | null;
  test: ActivationRows;
  testFlip: ActivationRows | null;
  /** remade: cache files found damaged or outdated (computed again, counted in `computed` too). */
  stats: { cached: number; computed: number; seconds: number; remade: CacheTally };
}

export interface ActivationOptions {
  cut: string;
  /** [height, width, channels] of the activations at the cut. */
  shape: [number, number, number];
  signal?: AbortSignal;
  onProgress?(p: { done: number; total: number }): void;
  cache?: FeatureCache;
  threads?: number;
  batchSize?: number;
}

/** The feature files' format under its own kind: an activation file is never read as a feature vector. */
export const ACTIVATION_FORMAT: CacheFormat = { ...FEATURE_FORMAT, kind: 'actv' };

export function createActivationCache(dir: string = path.join(cacheDir(), 'activations')): FeatureCache {
  return createFeatureCache(dir, ACTIVATION_FORMAT);
}

type Transform = 'center' | 'flip';

/** Photos whose activations are wanted: every split's centre crops, and valid and test mirrored when `tta`. */
export interface ActivationPhotos {
  train: ScannedImage[];
  valid: ScannedImage[];
  test: ScannedImage[];
  tta: boolean;
}

interface Plan {
  items: Map<string, { image: ScannedImage; t: Transform }>;
  keyOf(image: ScannedImage, t: Transform): string;
}

async function plan(backbone: string, cut: string, photos: ActivationPhotos, signal?: AbortSignal): Promise<Plan> {
  const spec = getBackbone(backbone);
  const weights = await backboneWeightsDigest(spec.id, { signal });
  const recipe = `${spec.recipe.size}/${spec.recipe.resize}/${spec.recipe.crop}/${spec.recipe.interpolation}`;
  const keyOf = (image: ScannedImage, t: Transform) => featureKey({ content: image.id, backbone: spec.id, weights, transform: `${t}:${recipe}|cut=${cut}` });
  const wanted: { images: ScannedImage[]; t: Transform }[] = [
    { images: photos.train, t: 'center' },
    { images: photos.valid, t: 'center' },
    { images: photos.test, t: 'center' },
    ...(photos.tta ? [{ images: photos.valid, t: 'flip' as const }, { images: photos.test, t: 'flip' as const }] : []),
  ];
  // One entry per distinct (photo content, transform): a photo present twice is computed once.
  const items = new Map<string, { image: ScannedImage; t: Transform }>();
  for (const { images, t } of wanted) for (const image of images) items.set(keyOf(image, t), { image, t });
  return { items, keyOf };
}

/** The frozen part below `cut` in this thread, on the engine's WebGPU backend. */
async function gpuCutExtractor(backboneId: string, cut: string): Promise<{ embed(pixels: Uint8Array, n: number): Promise<Float32Array>; dispose(): void }> {
  const model = await loadFeatureModel(backboneId);
  const toCut = modelToCut(model, cut);
  return { embed: (pixels, n) => withBackend('inference', () => predictPixels(toCut, pixels, n)), dispose: () => model.dispose() };
}

/** How many activations `computeActivations` would have to compute (the rest are on disk): for the time estimate. */
export async function countMissingActivations(backbone: string, cut: string, photos: ActivationPhotos, options: { cache?: FeatureCache; size: number; signal?: AbortSignal }): Promise<{ total: number; missing: number }> {
  const { items } = await plan(backbone, cut, photos, options.signal);
  const hits = await (options.cache ?? createActivationCache()).getMany([...items.keys()], options.size);
  return { total: items.size, missing: hits.filter((h) => h === null).length };
}

/** The activations for the photos of `features` (centre crops; mirrored too for valid and test when it has them). */
export async function computeActivations(features: DatasetFeatures, opts: ActivationOptions): Promise<DatasetActivations> {
  const started = performance.now();
  const spec = getBackbone(features.backbone);
  const size = opts.shape[0] * opts.shape[1] * opts.shape[2];
  const cache = opts.cache ?? createActivationCache();
  const tta = features.validFlip !== null;
  const { items, keyOf } = await plan(spec.id, opts.cut, { train: features.train.images, valid: features.valid.images, test: features.test.images, tta }, opts.signal);
  const keys = [...items.keys()];
  const found = new Map<string, Float32Array>();
  const remade = emptyTally();
  const hits = await cache.getMany(keys, size, remade);
  keys.forEach((key, i) => hits[i] && found.set(key, hits[i]!));
  const cached = found.size;
  const missing = keys.filter((k) => !found.has(k));
  let done = cached;
  opts.onProgress?.({ done, total: keys.length });

  if (missing.length > 0) {
    opts.signal?.throwIfAborted();
    // The frozen part on the graphics card when the engine runs on one, else in wasm worker threads
    // (one per core); either way this thread decodes the next batch meanwhile.
    const onGpu = (await ensureBackend()).name === 'webgpu';
    const { createWorkerExtractor } = await import('./worker-pool');
    const extractor = onGpu ? await gpuCutExtractor(spec.id, opts.cut) : await createWorkerExtractor(spec.id, { workers: opts.threads ?? defaultThreads(), engine: 'wasm', cut: { layer: opts.cut, outputSize: size } });
    const batchSize = opts.batchSize ?? 32;
    const perImage = spec.inputSize * spec.inputSize * 3;
    const decode = async (batch: string[]) => {
      const pixels = new Uint8Array(batch.length * perImage);
      const decoded = await Promise.all(batch.map((key) => decodeForModel(items.get(key)!.image.path, spec.recipe)));
      decoded.forEach((p, i) => pixels.set(items.get(batch[i]!)!.t === 'flip' ? flipHorizontal(p, spec.inputSize) : p, i * perImage));
      return pixels;
    };
    const writes: Promise<void>[] = [];
    try {
      const batches = Array.from({ length: Math.ceil(missing.length / batchSize) }, (_, b) => missing.slice(b * batchSize, (b + 1) * batchSize));
      let next = decode(batches[0]!);
      for (let b = 0; b < batches.length; b++) {
        const pixels = await next;
        opts.signal?.throwIfAborted();
        if (b + 1 < batches.length) next = decode(batches[b + 1]!);
        const out = await extractor.embed(pixels, batches[b]!.length);
        batches[b]!.forEach((key, i) => {
          const rows = out.slice(i * size, (i + 1) * size);
          found.set(key, rows);
          writes.push(cache.put(key, rows));
        });
        done += batches[b]!.length;
        opts.onProgress?.({ done, total: keys.length });
      }
      next.catch(() => undefined);
    } finally {
      extractor.dispose();
      // An unwritable cache slows the next run but does not fail this one.
      await Promise.allSettled(writes);
    }
  }

  const rows = (images: ScannedImage[], labels: Int32Array, t: Transform): ActivationRows => {
    const data = new Float32Array(images.length * size);
    images.forEach((image, i) => data.set(found.get(keyOf(image, t))!, i * size));
    return { data, labels, images };
  };
  return {
    cut: opts.cut,
    shape: opts.shape,
    size,
    train: rows(features.train.images, features.train.labels, 'center'),
    valid: rows(features.valid.images, features.valid.labels, 'center'),
    validFlip: tta ? rows(features.valid.images, features.valid.labels, 'flip') : null,
    test: rows(features.test.images, features.test.labels, 'center'),
    testFlip: tta ? rows(features.test.images, features.test.labels, 'flip') : null,
    stats: { cached, computed: missing.length, seconds: (performance.now() - started) / 1000, remade },
  };
}
