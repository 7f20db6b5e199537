// The whole training job behind 'train/run' and `foldwise train`: scan the folder, get cached
// features, find a learning rate, train the head (and optionally fine-tune the backbone), then
// write the run folder described in docs/ENGINE.md.
import fs from 'node:fs';
import path from 'node:path';
import { EngineError, type CallContext } from '../../shared/rpc';
import type { EpochMetrics, LrCurve, LrFindConfig, Progress, TrainConfig, TrainResult } from '../../shared/types';
import * as tf from '@tensorflow/tfjs';
import { getBackbone, type BackboneSpec } from '../backbones/catalog';
import { applyEdits, scanDataset, type Dataset } from '../dataset';
import { saveLayersModelToDir } from '../export/tfjs-io';
import { AUGMENT_VIEWS, computeFeatures, type DatasetFeatures, type FeatureMatrix } from '../features';
import { dataDir, packageRoot } from '../paths';
import { backendName, useGradientBackend } from './backend';
import type { TrainingSet } from './batches';
import { TRAIN_DEFAULTS } from './defaults';
import { predictProbabilities, score } from './evaluate';
import { embedImages, fineTune, loadTunableBackbone } from './fine-tune';
import { fitHead } from './fit';
import { buildHeadModel, type Head } from './head';
import { findLearningRate } from './lr-finder';
import { newRunId, openRunDir } from './run-dir';

/** What a job needs from its caller: the rpc context, or a stand-in in tests and benches. */
export interface JobContext {
  job: string;
  signal: AbortSignal;
  emit: CallContext['emit'];
  /** Awaited before every batch; resolves at once unless the user paused. */
  waitIfPaused?(): Promise<void>;
}

interface Prepared {
  dataset: Dataset;
  features: DatasetFeatures;
  set: TrainingSet;
  seconds: { scan: number; features: number };
}

const since = (start: number) => (performance.now() - start) / 1000;

function progress(ctx: JobContext, stage: Progress['stage'], done: number, total: number, extra: Partial<Progress> = {}) {
  ctx.emit('job/progress', { job: ctx.job, stage, done, total, ...extra });
}

/** Scan + features, shared by the LR finder and training. */
async function prepare(config: LrFindConfig & Partial<TrainConfig>, ctx: JobContext): Promise<Prepared> {
  const scanStart = performance.now();
  let dataset = await scanDataset(config.root, {
    validFraction: config.validFraction,
    signal: ctx.signal,
    onProgress: (done, total) => progress(ctx, 'scan', done, total),
  });
  if (config.edits) dataset = applyEdits(dataset, config.edits);
  const scan = since(scanStart);
  const featuresStart = performance.now();
  const features = await computeFeatures(dataset, {
    backbone: config.backbone,
    // Unset: the features stage's default (sized for the cold-train time budget); on/off: as asked.
    views: config.augment === true ? AUGMENT_VIEWS : config.augment === false ? 0 : undefined,
    tta: config.tta !== false,
    seed: config.seed,
    signal: ctx.signal,
    onProgress: (p) => progress(ctx, 'features', p.done, p.total, { etaSeconds: p.etaSeconds }),
  });
  const set = trainingSet(features);
  if (set.classes.length < 2) throw new EngineError('train/one-class', `Training needs at least two classes; ${config.root} has ${set.classes.length}. Add a folder of photos for each class.`);
  if (set.train.labels.length === 0) throw new EngineError('train/no-images', `No usable training photos were found in ${config.root}.`);
  if (set.valid.labels.length === 0) {
    throw new EngineError('train/no-validation', `No photos are set aside for validation in ${config.root}. Add more photos per class, or a "valid" folder.`);
  }
  return { dataset, features, set, seconds: { scan, features: since(featuresStart) } };
}

/** The cached features as the head's training data. */
export function trainingSet(features: DatasetFeatures): TrainingSet {
  return {
    classes: features.classes,
    dim: features.dim,
    train: features.train,
    trainViews: features.trainViews,
    valid: features.valid,
    validFlip: features.validFlip,
  };
}

async function lrFinder(set: TrainingSet, seed: number, ctx: JobContext): Promise<LrCurve> {
  return findLearningRate(set, {
    head: TRAIN_DEFAULTS.head,
    seed,
    batchSize: TRAIN_DEFAULTS.batchSize,
    weightDecay: TRAIN_DEFAULTS.weightDecay,
    choose: TRAIN_DEFAULTS.lrSuggestion,
    signal: ctx.signal,
    onStep: (step, steps) => progress(ctx, 'lr-find', step, steps),
  });
}

export async function findLearningRateForFolder(config: LrFindConfig, ctx: JobContext): Promise<LrCurve> {
  const { set } = await prepare(config, ctx);
  await useGradientBackend();
  return lrFinder(set, config.seed, ctx);
}

function appVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}

/** Per-image probabilities for predictions.json, with the same features and TTA the app uses. */
function predictionItems(head: Head, classes: string[], rows: FeatureMatrix, flip: FeatureMatrix | null) {
  const probabilities = predictProbabilities(head, rows, flip);
  const k = classes.length;
  return {
    probabilities,
    items: rows.images.map((image, i) => ({
      file: image.file,
      path: image.path,
      id: image.id,
      split: image.split,
      label: classes[rows.labels[i]!]!,
      probabilities: Array.from(probabilities.subarray(i * k, (i + 1) * k)),
    })),
  };
}

/** Knobs for tests only: fine-tune at a small input size (same weights) so it runs in seconds. */
export interface TrainOverrides {
  fineTuneInputSize?: number;
}

export async function trainFolder(config: TrainConfig, ctx: JobContext, overrides: TrainOverrides = {}): Promise<TrainResult> {
  const started = performance.now();
  const spec = getBackbone(config.backbone);
  const prepared = await prepare(config, ctx);
  const { features, set } = prepared;
  const trainStart = performance.now();
  const backend = await backendName();
  await useGradientBackend();

  const runId = config.out ? path.basename(path.resolve(config.out)) : newRunId();
  const run = await openRunDir(config.out ?? path.join(dataDir(), 'runs', runId));
  let head: Head | null = null;
  let backbone: tf.LayersModel | null = null;
  try {
    const lr = config.lr === 'auto' ? (await lrFinder(set, config.seed, ctx)).suggestion : config.lr;
    const epochs = config.epochs ?? TRAIN_DEFAULTS.epochs;
    const resolved = {
      ...config,
      root: path.resolve(config.root),
      classes: set.classes,
      backbone: spec.id,
      seed: config.seed,
      lr,
      lrSource: config.lr === 'auto' ? `lr-finder (${TRAIN_DEFAULTS.lrSuggestion})` : 'given',
      epochs,
      head: TRAIN_DEFAULTS.head,
      batchSize: TRAIN_DEFAULTS.batchSize,
      weightDecay: TRAIN_DEFAULTS.weightDecay,
      labelSmoothing: config.labelSmoothing ?? TRAIN_DEFAULTS.labelSmoothing,
      augmentedViews: set.trainViews.length,
      tta: config.tta !== false && set.validFlip !== null,
      bestEpochBy: 'lowest validation loss',
    };
    await run.writeJson('config.json', resolved);

    const batches = Math.ceil(set.train.labels.length / TRAIN_DEFAULTS.batchSize);
    let lastBatchEvent = 0;
    let metricsWritten = Promise.resolve();
    const fit = await fitHead(set, {
      head: TRAIN_DEFAULTS.head,
      epochs,
      maxLr: lr,
      seed: config.seed,
      batchSize: TRAIN_DEFAULTS.batchSize,
      weightDecay: TRAIN_DEFAULTS.weightDecay,
      labelSmoothing: resolved.labelSmoothing,
      tta: resolved.tta,
      signal: ctx.signal,
      waitIfPaused: ctx.waitIfPaused,
      onBatch: (b) => {
        // Batches of a small head take milliseconds: at most ~20 events a second, plus each epoch's last.
        const now = performance.now();
        if (now - lastBatchEvent < 50 && b.batch < b.batches) return;
        lastBatchEvent = now;
        ctx.emit('train/batch', { job: ctx.job, ...b, stage: 'head' });
        progress(ctx, 'train', (b.epoch - 1) * batches + b.batch, epochs * batches, { message: `epoch ${b.epoch}/${epochs}` });
      },
      onEpoch: (metrics: EpochMetrics) => {
        ctx.emit('train/epoch', { job: ctx.job, metrics });
        metricsWritten = metricsWritten.then(() => run.appendLine('metrics.jsonl', metrics));
      },
    });
    head = fit.head;
    const warnings = [...fit.warnings];
    const history = [...fit.epochs];
    let bestEpoch = fit.bestEpoch;
    const tta = resolved.tta;

    // Matrices the predictions come from: the cached features, or recomputed through a fine-tuned backbone.
    let matrices = { valid: features.valid, validFlip: features.validFlip, test: features.test, testFlip: features.testFlip, train: features.train };
    if (config.fineTune) {
      await useGradientBackend('convolutions');
      const loaded = await loadTunableBackbone(spec, overrides.fineTuneInputSize);
      backbone = loaded.model;
      const tuned = loaded.model;
      const tunedHead = head;
      // Validation during fine-tuning uses the model being tuned; final predictions the app's full-size one.
      const embedWith = (model: tf.LayersModel, s: BackboneSpec) => async (m: FeatureMatrix, flip = false): Promise<FeatureMatrix> => ({ ...m, data: await embedImages(model, s, m.images, { flip, signal: ctx.signal }) });
      const embedTuning = embedWith(loaded.tunable, loaded.spec);
      const embed = embedWith(tuned, spec);
      const headOnly = { weights: head.snapshot(), loss: fit.epochs.find((e) => e.epoch === fit.bestEpoch)!.validLoss };
      const fineTuneEpochs = TRAIN_DEFAULTS.fineTuneEpochs;
      // Each epoch's check: its embeddings of the validation photos, in epoch order.
      const checks: { valid: FeatureMatrix; flip: FeatureMatrix | null }[] = [];
      const tuning = await fineTune({
        backbone: loaded.tunable,
        spec: loaded.spec,
        head: tunedHead,
        train: { images: features.train.images, labels: features.train.labels },
        validate: async () => {
          // Forward passes only: the faster inference backend, then back for the gradients.
          await useGradientBackend('head');
          const valid = await embedTuning(features.valid);
          const flip = tta ? await embedTuning(features.valid, true) : null;
          checks.push({ valid, flip });
          const scored = score(predictProbabilities(tunedHead, valid, flip), valid.labels, set.classes.length);
          await useGradientBackend('convolutions');
          return scored;
        },
        epochs: fineTuneEpochs,
        maxLr: lr / 2,
        seed: config.seed,
        labelSmoothing: resolved.labelSmoothing,
        firstEpoch: epochs + 1,
        signal: ctx.signal,
        waitIfPaused: ctx.waitIfPaused,
        onBatch: (b) => ctx.emit('train/batch', { job: ctx.job, ...b, stage: 'fine-tune' }),
        // Per photo: a batch takes over a minute on the CPU, too long for the bar to sit still. The
        // epoch comes from the photos done (each epoch is total / epochs of them), not from the last
        // finished batch, which still named the previous epoch during an epoch's first batch.
        onProgress: (p) =>
          progress(ctx, 'fine-tune', p.done, p.total, { etaSeconds: p.etaSeconds, message: `epoch ${Math.max(1, Math.ceil((p.done * fineTuneEpochs) / p.total))}/${fineTuneEpochs}` }),
        onEpoch: (metrics) => {
          ctx.emit('train/epoch', { job: ctx.job, metrics });
          metricsWritten = metricsWritten.then(() => run.appendLine('metrics.jsonl', metrics));
        },
      });
      history.push(...tuning.epochs);
      await useGradientBackend('head');
      const { kept } = tuning;
      if (kept.validLoss < headOnly.loss) {
        bestEpoch = kept.epoch;
        // Tuned at full size, the kept epoch's check already embedded the validation photos as the app will.
        const checked = loaded.tunable === tuned ? checks[tuning.epochs.indexOf(kept)] : null;
        matrices = {
          valid: checked?.valid ?? (await embed(features.valid)),
          validFlip: tta ? (checked?.flip ?? (await embed(features.valid, true))) : null,
          test: await embed(features.test),
          testFlip: tta && features.test.images.length > 0 ? await embed(features.test, true) : null,
          train: await embed(features.train),
        };
        await saveLayersModelToDir(tuned, run.file('backbone'));
      } else {
        head.restore(headOnly.weights);
        warnings.push(
          `Fine-tuning did not lower the validation loss (${headOnly.loss.toFixed(3)} before, ${kept.validLoss.toFixed(3)} at best after), so Foldwise kept the model from epoch ${bestEpoch} with the backbone unchanged.`,
        );
      }
    }
    await metricsWritten;

    // Predictions: valid and test with TTA (as the app predicts), train on the centre crop.
    const valid = predictionItems(head, set.classes, matrices.valid, tta ? matrices.validFlip : null);
    const test = predictionItems(head, set.classes, matrices.test, tta ? matrices.testFlip : null);
    const train = predictionItems(head, set.classes, matrices.train, null);
    const validScore = score(valid.probabilities, features.valid.labels, set.classes.length);
    // The test split is scored once, here, with the chosen model; nothing above looked at it.
    const testScore = features.test.labels.length > 0 ? score(test.probabilities, features.test.labels, set.classes.length) : null;
    await run.writeJson('predictions.json', { classes: set.classes, items: [...valid.items, ...test.items, ...train.items] });

    const model = buildHeadModel(head);
    await saveLayersModelToDir(model, run.file('head'));
    model.dispose();
    await run.writeJson('metadata.json', {
      labels: set.classes,
      backbone: spec.id,
      inputSize: spec.inputSize,
      featureSize: spec.featureSize,
      preprocessing: spec.preprocessing,
      recipe: spec.recipe,
      head: { ...head.spec },
      fineTuned: config.fineTune && bestEpoch > epochs,
      tta: resolved.tta,
      metrics: { valid: validScore, test: testScore, bestEpoch },
      createdAt: new Date().toISOString(),
      appVersion: appVersion(),
    });
    const result: TrainResult = {
      runId,
      runDir: run.dir,
      backend,
      backbone: spec.id,
      classes: set.classes,
      lr,
      images: { train: features.train.labels.length, valid: features.valid.labels.length, test: features.test.labels.length },
      epochs: history,
      bestEpoch,
      valid: validScore,
      test: testScore,
      warnings,
      seconds: { ...prepared.seconds, train: since(trainStart), total: 0 },
    };
    result.seconds.total = since(started);
    await run.writeJson('result.json', result);
    await run.commit();
    return result;
  } catch (error) {
    await run.discard();
    throw error;
  } finally {
    head?.dispose();
    // A small-input tunable model shares every weight with `backbone`: disposing that frees both.
    backbone?.dispose();
  }
}
