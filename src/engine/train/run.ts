// The whole training job behind 'train/run' and `foldwise train`, as steps: prepare (scan, split,
// features), train the head, fine-tune the backbone (when asked), and write the run folder. Each
// step lives in ./steps and reports its own progress; this file only strings them together.
import path from 'node:path';
import type { LrCurve, LrFindConfig, TrainConfig, TrainResult } from '../../shared/types';
import { getBackbone } from '../backbones/catalog';
import { describeBackend, withBackend } from '../compute';
import { dataDir } from '../paths';
import { newRunId, openRunWriter, type RunConfig } from '../run';
import { TRAIN_DEFAULTS } from './defaults';
import { since, type JobContext } from './job';
import { cachedFeatures, fineTuneBackbone, type FineTuneStep } from './steps/fine-tune';
import { findLearningRateFor, trainHead, type HeadStep } from './steps/head';
import { prepare } from './steps/prepare';
import { writeRun } from './steps/write';


export function findLearningRateForFolder(config: LrFindConfig, ctx: JobContext): Promise<LrCurve> {
  return withBackend('head', async () => findLearningRateFor((await prepare(config, ctx)).set, config.seed, ctx));
}

/** Knobs for tests only: fine-tune at a small input size (same weights) so it runs in seconds, and keep it whatever it scored. */
export interface TrainOverrides {
  fineTuneInputSize?: number;
  keepFineTuned?: boolean;
}

export function trainFolder(config: TrainConfig, ctx: JobContext, overrides: TrainOverrides = {}): Promise<TrainResult> {
  return withBackend('head', async () => {
    const started = performance.now();
    const spec = getBackbone(config.backbone);
    const { features, set, seconds } = await prepare(config, ctx);
    const trainStart = performance.now();
    const runId = config.out ? path.basename(path.resolve(config.out)) : newRunId();
    const run = await openRunWriter(config.out ?? path.join(dataDir(), 'runs', runId));
    const recipe = {
      epochs: config.epochs ?? TRAIN_DEFAULTS.epochs,
      seed: config.seed,
      labelSmoothing: config.labelSmoothing ?? TRAIN_DEFAULTS.labelSmoothing,
      tta: config.tta !== false && set.validFlip !== null,
    };
    const onEpoch = (metrics: TrainResult['epochs'][number]) => void run.appendEpoch(metrics).catch(() => undefined);
    let trained: HeadStep | null = null;
    let tuning: FineTuneStep | null = null;
    try {
      trained = await trainHead(set, { ...recipe, lr: config.lr, moreAfter: config.fineTune, onEpoch }, ctx);
      if (config.fineTune) tuning = await fineTuneBackbone({ ...recipe, spec, features, trained, inputSize: overrides.fineTuneInputSize, alwaysKeep: overrides.keepFineTuned, onEpoch }, ctx);
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
      const warnings = [...trained.warnings, ...(tuning?.warnings ?? [])];
      const written = await writeRun(run, {
        config: resolved,
        spec,
        head: trained.head,
        tuned: tuning?.tuned ?? null,
        features: tuning?.features ?? cachedFeatures(features),
        bestEpoch,
      });
      const result: TrainResult = {
        runId,
        runDir: run.dir,
        backend: (await describeBackend()).name,
        backbone: spec.id,
        classes: set.classes,
        lr: trained.lr,
        ...written,
        epochs,
        bestEpoch,
        warnings,
        seconds: { ...seconds, train: since(trainStart), total: since(started) },
      };
      await run.finish(result);
      return result;
    } catch (error) {
      await run.discard();
      throw error;
    } finally {
      trained?.head.dispose();
      tuning?.tuned?.dispose();
    }
  });
}
