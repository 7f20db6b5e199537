// The whole training job behind 'train/run' and `foldwise train`, as steps: prepare (scan, split,
// features), train the head, fine-tune the backbone (when asked), and write the run folder. Each
// step lives in ./steps and reports its own progress; this file only strings them together.
import path from 'node:path';
import type { LrCurve, LrFindConfig, TrainConfig, TrainResult } from '../../shared/types';
import { backendLabel } from '../../shared/backend-label';
import { backboneBytes, canTuneTop, getBackbone } from '../backbones/catalog';
import { addTallies, describeTally } from '../cache-file';
import { describeBackend, withBackend } from '../compute';
import { ensureSpace } from '../fs-errors';
import { dataDir } from '../paths';
import { newRunId, openRunWriter, type RunConfig } from '../run';
import { estimateRunBytes } from '../run/space';
import { TRAIN_DEFAULTS } from './defaults';
import { reportProgress, since, type JobContext } from './job';
import { cachedFeatures, fineTuneBackbone, type FineTuneStep } from './steps/fine-tune';
import { fineTuneTop, type TopRecipe, type TopStep } from './steps/fine-tune-top';
import { clearlyTooBig, estimateTop } from './top-estimate';
import { cutOf } from './top-of-backbone';
import { findLearningRateFor, trainHead, type HeadStep } from './steps/head';
import { prepare, type Prepared } from './steps/prepare';
import { headEpochsFor } from './schedule';
import { writeRun } from './steps/write';


export function findLearningRateForFolder(config: LrFindConfig, ctx: JobContext): Promise<LrCurve> {
  return withBackend('head', async () => findLearningRateFor((await prepare(config, ctx)).set, config.seed, ctx));
}

/** Knobs for tests only: fine-tune at a small input size (same weights) so it runs in seconds, and keep it whatever it scored. */
export interface TrainOverrides {
  fineTuneInputSize?: number;
  keepFineTuned?: boolean;
  /** Benches only: another top fine-tuning recipe than TRAIN_DEFAULTS.top. */
  topRecipe?: Partial<TopRecipe>;
}

/** 'auto': top when its estimate fits the time budget (and the backbone has a known cut), otherwise off. */
async function resolveFineTune(config: TrainConfig, spec: ReturnType<typeof getBackbone>, features: Prepared['features'], ctx: JobContext): Promise<'off' | 'top' | 'whole'> {
  if (config.fineTune !== 'auto') return config.fineTune;
  if (!canTuneTop(spec) || clearlyTooBig(features.train.labels.length)) return 'off';
  const photos = { train: features.train.images, valid: features.valid.images, test: features.test.images, tta: features.validFlip !== null };
  return (await estimateTop(spec, photos, ctx.signal)).fits ? 'top' : 'off';
}

/** Whole-network fine-tuning's pace: training photos over its epochs' seconds (validation included; it does not time them apart). */
function photosPerSecondOf(tuning: FineTuneStep, photos: number): number {
  const seconds = tuning.epochs.reduce((sum, e) => sum + e.seconds, 0);
  return seconds > 0 ? (photos * tuning.epochs.length) / seconds : 0;
}

export function trainFolder(config: TrainConfig, ctx: JobContext, overrides: TrainOverrides = {}): Promise<TrainResult> {
  return withBackend('head', async () => {
    const started = performance.now();
    const spec = getBackbone(config.backbone);
    if (config.fineTune === 'top') cutOf(spec); // refuses a backbone it cannot cut before any work
    const runId = config.out ? path.basename(path.resolve(config.out)) : newRunId();
    const runDir = config.out ?? path.join(dataDir(), 'runs', runId);
    // The run folder's size, checked before the photos (the least any run takes) and again once they are known.
    const place = { folder: path.resolve(runDir), instead: config.out ? undefined : 'set FOLDWISE_DATA to a folder on another disk (runs are kept in Foldwise’s data folder)' };
    const size = { featureSize: spec.featureSize, hidden: TRAIN_DEFAULTS.head.hidden, backboneBytes: config.fineTune === 'off' ? 0 : backboneBytes(spec) };
    await ensureSpace({ ...place, needBytes: estimateRunBytes({ ...size, classes: 2 }) });
    const { features, set, seconds, remade } = await prepare(config, ctx);
    const trainStart = performance.now();
    const images = [...features.train.images, ...features.valid.images, ...features.test.images];
    const run = await openRunWriter(runDir, { instead: place.instead, needBytes: estimateRunBytes({ ...size, classes: set.classes.length, images }) });
    const recipe = {
      epochs: config.epochs ?? headEpochsFor(set.train.labels.length, TRAIN_DEFAULTS.headLength),
      seed: config.seed,
      labelSmoothing: config.labelSmoothing ?? TRAIN_DEFAULTS.labelSmoothing,
      tta: config.tta !== false && set.validFlip !== null,
    };
    const onEpoch = (metrics: TrainResult['epochs'][number]) => void run.appendEpoch(metrics).catch(() => undefined);
    let trained: HeadStep | null = null;
    let tuning: (FineTuneStep & Partial<Pick<TopStep, 'cut' | 'photosPerSecond' | 'head' | 'activations'>>) | null = null;
    let fineTuneSeconds = 0;
    try {
      const layers = await resolveFineTune(config, spec, features, ctx);
      trained = await trainHead(set, { ...recipe, lr: config.lr, moreAfter: layers !== 'off', onEpoch }, ctx);
      const tuneStart = performance.now();
      if (layers === 'whole') tuning = await fineTuneBackbone({ ...recipe, spec, features, trained, inputSize: overrides.fineTuneInputSize, alwaysKeep: overrides.keepFineTuned, onEpoch }, ctx);
      if (layers === 'top') tuning = await fineTuneTop({ ...recipe, spec, features, trained, recipe: overrides.topRecipe, alwaysKeep: overrides.keepFineTuned, onEpoch }, ctx);
      if (tuning) fineTuneSeconds = since(tuneStart);
      const resolved: RunConfig = {
        ...config,
        root: path.resolve(config.root),
        classes: set.classes,
        backbone: spec.id,
        lr: trained.lr,
        lrSource: config.lr === 'auto' ? `lr-finder (${TRAIN_DEFAULTS.lrSuggestion})` : 'given',
        epochs: recipe.epochs,
        head: TRAIN_DEFAULTS.head,
        batchSize: TRAIN_DEFAULTS.batchSize,
        weightDecay: TRAIN_DEFAULTS.weightDecay,
        labelSmoothing: recipe.labelSmoothing,
        augmentedViews: set.trainViews.length,
        tta: recipe.tta,
        bestEpochBy: 'lowest validation loss',
      };
      const epochs = [...trained.epochs, ...(tuning?.epochs ?? [])];
      const bestEpoch = tuning?.bestEpoch ?? trained.bestEpoch;
      // Cache files that failed their check (scan, features, ONNX conversion, activations) were made again: say so.
      const cacheRemade = addTallies(remade, tuning?.activations?.remade);
      const remadeWords = describeTally(cacheRemade);
      const warnings = [...trained.warnings, ...(tuning?.warnings ?? []), ...(remadeWords ? [remadeWords] : [])];
      const written = await writeRun(run, {
        config: resolved,
        spec,
        head: tuning?.head ?? trained.head,
        tuned: tuning?.tuned ?? null,
        fineTune: tuning?.tuned && layers !== 'off' ? { layers, cut: tuning.cut ?? null } : null,
        features: tuning?.features ?? cachedFeatures(features),
        bestEpoch,
      }, (done, total) => reportProgress(ctx, 'save', done, total));
      const result: TrainResult = {
        runId,
        runDir: run.dir,
        backend: backendLabel(await describeBackend()),
        backbone: spec.id,
        classes: set.classes,
        lr: trained.lr,
        ...written,
        epochs,
        bestEpoch,
        warnings,
        cacheRemade,
        fineTune:
          tuning && layers !== 'off'
            ? { layers, cut: tuning.cut ?? null, epochs: tuning.epochs.length, kept: tuning.tuned !== null, photosPerSecond: tuning.photosPerSecond ?? photosPerSecondOf(tuning, set.train.labels.length) }
            : null,
        seconds: { ...seconds, train: since(trainStart), fineTune: fineTuneSeconds, total: since(started) },
      };
      await run.finish(result);
      return result;
    } catch (error) {
      await run.discard();
      throw error;
    } finally {
      trained?.head.dispose();
      tuning?.tuned?.dispose();
      tuning?.head?.dispose();
    }
  });
}
