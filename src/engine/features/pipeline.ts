// computeFeatures: every photo of a dataset through the frozen backbone, once per transform
// (centre crop, augmented views for training, a mirrored copy for test-time augmentation),
// with an on-disk cache so only new photos or new transforms are ever computed.
// Decoding the next batch (sharp, on libuv threads) overlaps inference of the current one.
import { getBackbone } from '../backbones/catalog';
import { backboneWeightsDigest } from '../backbones/weights-digest';
import type { DatasetSummary } from '../../shared/types';
import type { ScannedImage } from '../dataset';
import { decodeForModel } from '../dataset';
import { addTallies, emptyTally, type CacheTally } from '../cache-file';
import { describeView, flipHorizontal, renderViews, viewParams } from './augment';
import { createFeatureCache, featureKey, type FeatureCache } from './cache';
import { createExtractor, type Extractor } from './extractor';

export type { ScannedImage };

/** A scanned dataset (dataset/Dataset); only the class names of its summary are needed here. */
export interface Dataset {
  summary: Pick<DatasetSummary, 'classes'>;
  images: ScannedImage[];
}

export interface FeatureMatrix {
  dim: number;
  /** rows.length * dim floats; row i belongs to images[i]. */
  data: Float32Array;
  labels: Int32Array;
  images: ScannedImage[];
}

export interface DatasetFeatures {
  backbone: string;
  dim: number;
  classes: string[];
  train: FeatureMatrix;
  /** Augmented views, each with the same rows as train. */
  trainViews: FeatureMatrix[];
  valid: FeatureMatrix;
  validFlip: FeatureMatrix | null;
  test: FeatureMatrix;
  testFlip: FeatureMatrix | null;
  /** Photos that could not be decoded now (left out of every matrix), with the reason. */
  skipped: { file: string; id: string; reason: string }[];
  /**
   * How many vectors came from the cache and how many were computed; remade: cache files (vectors, and
   * the ONNX conversion of the backbone) found damaged or outdated and made again.
   */
  stats: { cached: number; computed: number; seconds: number; route: string | null; notes: string | null; remade: CacheTally };
}

/** Vectors ready (cached ones count from the start) of all the job needs; the rpc boundary adds the time left. */
export interface FeatureProgress {
  done: number;
  total: number;
}

export interface ComputeFeaturesOptions {
  backbone: string;
  /** Augmented views per training photo (default DEFAULT_VIEWS). */
  views?: number;
  /** Mirrored copies of valid and test photos for test-time augmentation (default true). */
  tta?: boolean;
  seed?: number;
  /** Images per inference call (default 32). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?(p: FeatureProgress): void;
  /** An extractor to use (and not dispose); otherwise one is created only if something must be computed. */
  extractor?: Extractor;
  /** The cache to use; default cacheDir()/features. */
  cache?: FeatureCache;
  threads?: number;
}

/**
 * No augmented views unless asked for. bench/recipe.ts found two views per photo worth ~0.1 points
 * of validation accuracy (noise) for ~15 s more of a cold `foldwise train` on dogs_vs_cats (38 s
 * without them, 60 s budget, 2 cores): each view is one more decode and inference per training photo.
 * AUGMENT_VIEWS is the number to use when a person switches augmentation on.
 */
export const DEFAULT_VIEWS = 0;
/** Augmented views per training photo when augmentation is switched on (TrainConfig.augment). */
export const AUGMENT_VIEWS = 2;

/** Cache lookups per slice: ~5 MB of vectors held at once besides the matrices. */
const CACHE_SLICE = 1024;

type Transform = { kind: 'center' } | { kind: 'flip' } | { kind: 'view'; index: number };

interface Job {
  image: ScannedImage;
  /** Transforms of this photo still to compute, with their cache keys. */
  todo: { transform: Transform; key: string }[];
}

export async function computeFeatures(dataset: Dataset, opts: ComputeFeaturesOptions): Promise<DatasetFeatures> {
  const started = performance.now();
  const spec = getBackbone(opts.backbone);
  const dim = spec.featureSize;
  const views = Math.max(0, Math.floor(opts.views ?? DEFAULT_VIEWS));
  const tta = opts.tta ?? true;
  const seed = opts.seed ?? 42;
  const batchSize = Math.max(1, opts.batchSize ?? 32);
  const cache = opts.cache ?? createFeatureCache();
  const signal = opts.signal;
  signal?.throwIfAborted();

  const recipeText = `${spec.recipe.size}/${spec.recipe.resize}/${spec.recipe.crop}/${spec.recipe.interpolation}`;
  const describe = (t: Transform): string =>
    t.kind === 'center' ? `center:${recipeText}` : t.kind === 'flip' ? `flip:${recipeText}` : describeView(t.index, seed, spec.recipe.size);
  // The copy of the backbone that would compute missing vectors (downloaded now if there is none) names the
  // cached ones too: vectors of a re-downloaded, imported or fine-tuned copy are never mixed up.
  const weights = await backboneWeightsDigest(spec.id, { signal });
  const keyOf = (image: ScannedImage, t: Transform) => featureKey({ content: image.id, backbone: spec.id, weights, transform: describe(t) });

  // What each photo needs; a photo present twice (same content) is computed once.
  const needed = new Map<string, { image: ScannedImage; transforms: Transform[] }>();
  for (const image of dataset.images) {
    const entry = needed.get(image.id) ?? { image, transforms: [] };
    const add = (t: Transform) => {
      if (!entry.transforms.some((u) => describe(u) === describe(t))) entry.transforms.push(t);
    };
    add({ kind: 'center' });
    if (image.split === 'train') for (let v = 0; v < views; v++) add({ kind: 'view', index: v });
    else if (tta) add({ kind: 'flip' });
    needed.set(image.id, entry);
  }

  // Every vector goes straight into its rows of the matrices returned, as it is read from the cache or
  // computed: nothing holds a second copy of a big folder's features.
  const classes = dataset.summary.classes.map((c) => c.name);
  const rowsOf = new Map<string, { data: Float32Array; row: number }[]>();
  const matrix = (split: ScannedImage['split'], t: Transform): FeatureMatrix => {
    const images = dataset.images.filter((im) => im.split === split);
    const data = new Float32Array(images.length * dim);
    const labels = Int32Array.from(images, (image) => classes.indexOf(image.label));
    images.forEach((image, row) => {
      const key = keyOf(image, t);
      rowsOf.set(key, [...(rowsOf.get(key) ?? []), { data, row }]);
    });
    return { dim, data, labels, images };
  };
  const matrices = {
    train: matrix('train', { kind: 'center' }),
    trainViews: Array.from({ length: views }, (_, index) => matrix('train', { kind: 'view', index })),
    valid: matrix('valid', { kind: 'center' }),
    validFlip: tta ? matrix('valid', { kind: 'flip' }) : null,
    test: matrix('test', { kind: 'center' }),
    testFlip: tta ? matrix('test', { kind: 'flip' }) : null,
  };
  const have = new Set<string>();
  const place = (key: string, vector: Float32Array) => {
    for (const { data, row } of rowsOf.get(key) ?? []) data.set(vector, row * dim);
    have.add(key);
  };

  const keyed = [...needed.values()].flatMap((e) => e.transforms.map((t) => ({ key: keyOf(e.image, t), id: e.image.id })));
  const allKeys = keyed.map((k) => k.key);
  const total = allKeys.length;
  const remade = emptyTally();
  // Read in slices, so only a slice of cached vectors is ever held apart from the matrices.
  for (let start = 0; start < allKeys.length; start += CACHE_SLICE) {
    const slice = allKeys.slice(start, start + CACHE_SLICE);
    const hits = await cache.getMany(slice, dim, remade);
    slice.forEach((key, i) => {
      if (hits[i]) place(key, hits[i]!);
    });
    signal?.throwIfAborted();
  }
  const cached = have.size;

  const jobs: Job[] = [];
  for (const { image, transforms } of needed.values()) {
    const todo = transforms.map((transform) => ({ transform, key: keyOf(image, transform) })).filter((t) => !have.has(t.key));
    if (todo.length > 0) jobs.push({ image, todo });
  }

  // The first step counts the cached vectors, so the boundary's rate is that of computing alone.
  let done = cached;
  const report = () => opts.onProgress?.({ done, total });
  report();
  const skipped: { file: string; id: string; reason: string }[] = [];
  let extractor = opts.extractor ?? null;
  const ownExtractor = !opts.extractor;
  let computed = 0;
  try {
    if (jobs.length > 0) {
      extractor ??= await abortable(createExtractor(spec.id, { threads: opts.threads }), signal, (e) => e.dispose());
      const writes: Promise<void>[] = [];
      const batches = groupJobs(jobs, batchSize);
      let next = decodeBatch(batches[0]!, spec.recipe.size, seed, skipped);
      for (let b = 0; b < batches.length; b++) {
        const decoded = await abortable(next, signal);
        // Start decoding the next batch now so sharp works while the backbone runs.
        if (b + 1 < batches.length) next = decodeBatch(batches[b + 1]!, spec.recipe.size, seed, skipped);
        if (decoded.keys.length > 0) {
          const features = await abortable(extractor.embed(decoded.pixels, decoded.keys.length), signal);
          decoded.keys.forEach((key, i) => {
            const vector = features.subarray(i * dim, (i + 1) * dim);
            place(key, vector);
            writes.push(cache.put(key, vector));
          });
          computed += decoded.keys.length;
        }
        done += decoded.keys.length + decoded.failedItems;
        report();
      }
      // A cache that cannot be written (full disk, read-only) slows the next run but does not fail this one.
      await Promise.allSettled(writes);
    }
  } finally {
    if (ownExtractor && extractor) extractor.dispose();
  }
  if (done < total) {
    done = total;
    report();
  }

  // Photos that could not be decoded leave every matrix (their rows were never filled).
  const failed = new Set(skipped.map((s) => s.id));
  const without = (m: FeatureMatrix): FeatureMatrix => {
    if (failed.size === 0) return m;
    const keep = m.images.map((image, row) => (failed.has(image.id) ? -1 : row)).filter((row) => row >= 0);
    keep.forEach((row, to) => m.data.copyWithin(to * dim, row * dim, (row + 1) * dim));
    return { dim, data: m.data.slice(0, keep.length * dim), labels: Int32Array.from(keep, (row) => m.labels[row]!), images: keep.map((row) => m.images[row]!) };
  };
  for (const { key, id } of keyed) if (!have.has(key) && !failed.has(id)) throw new Error(`Internal error: no features for photo ${id} (cache key ${key})`);
  return {
    backbone: spec.id,
    dim,
    classes,
    train: without(matrices.train),
    trainViews: matrices.trainViews.map(without),
    valid: without(matrices.valid),
    validFlip: matrices.validFlip && without(matrices.validFlip),
    test: without(matrices.test),
    testFlip: matrices.testFlip && without(matrices.testFlip),
    skipped,
    stats: {
      cached,
      computed,
      seconds: (performance.now() - started) / 1000,
      route: extractor?.route ?? null,
      notes: extractor?.notes ?? null,
      remade: addTallies(remade, extractor?.remade),
    },
  };
}

/** Consecutive jobs whose transforms add up to about batchSize items. */
function groupJobs(jobs: Job[], batchSize: number): Job[][] {
  const batches: Job[][] = [];
  let current: Job[] = [];
  let items = 0;
  for (const job of jobs) {
    current.push(job);
    items += job.todo.length;
    if (items >= batchSize) {
      batches.push(current);
      current = [];
      items = 0;
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

interface DecodedBatch {
  keys: string[];
  pixels: Uint8Array;
  /** Items of photos that could not be decoded (they count as done for progress). */
  failedItems: number;
}

async function decodeBatch(batch: Job[], size: number, seed: number, skipped: { file: string; id: string; reason: string }[]): Promise<DecodedBatch> {
  const perImage = size * size * 3;
  const results = await Promise.all(
    batch.map(async (job) => {
      try {
        return { job, pixels: await renderJob(job, size, seed) };
      } catch (error) {
        skipped.push({ file: job.image.path, id: job.image.id, reason: (error as Error).message });
        return { job, pixels: null };
      }
    }),
  );
  const ok = results.filter((r) => r.pixels !== null);
  const count = ok.reduce((n, r) => n + r.pixels!.length, 0);
  const pixels = new Uint8Array(count * perImage);
  const keys: string[] = [];
  for (const r of ok) {
    r.pixels!.forEach((p, i) => {
      pixels.set(p, keys.length * perImage);
      keys.push(r.job.todo[i]!.key);
    });
  }
  const failedItems = results.filter((r) => r.pixels === null).reduce((n, r) => n + r.job.todo.length, 0);
  return { keys, pixels, failedItems };
}

/** Pixels for each transform a photo still needs, in job.todo order. */
async function renderJob(job: Job, size: number, seed: number): Promise<Uint8Array[]> {
  const recipe = { size, resize: 'shorter-side', crop: 'center', interpolation: 'bilinear' } as const;
  const needsCentre = job.todo.some((t) => t.transform.kind !== 'view');
  const centre = needsCentre ? await decodeForModel(job.image.path, recipe) : null;
  const viewTodo = job.todo.filter((t) => t.transform.kind === 'view');
  const rendered = await renderViews(
    job.image.path,
    size,
    viewTodo.map((t) => viewParams(job.image.id, (t.transform as { index: number }).index, seed)),
  );
  let v = 0;
  return job.todo.map((t) => (t.transform.kind === 'center' ? centre! : t.transform.kind === 'flip' ? flipHorizontal(centre!, size) : rendered[v++]!));
}

/** Awaits `work` unless `signal` fires first; a late result is cleaned up with `discard`. */
async function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, discard?: (value: T) => void): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason ?? new DOMException('The operation was aborted', 'AbortError'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (error) {
    if (signal.aborted && discard) void work.then(discard, () => undefined);
    work.catch(() => undefined);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
