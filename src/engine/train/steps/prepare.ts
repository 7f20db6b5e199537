// Step 1 of a training job (and all of the LR finder's preparation): scan the folder, apply the
// user's edits, split, and get every photo's features (from the cache where it has them).
import { EngineError } from '../../../shared/rpc';
import type { LrFindConfig, TrainConfig } from '../../../shared/types';
import { applyEdits, scanDataset, type Dataset } from '../../dataset';
import { addTallies, type CacheTally } from '../../cache-file';
import { AUGMENT_VIEWS, computeFeatures, type DatasetFeatures } from '../../features';
import type { TrainingSet } from '../batches';
import { reportProgress, since, type JobContext } from '../job';

export interface Prepared {
  dataset: Dataset;
  features: DatasetFeatures;
  set: TrainingSet;
  seconds: { scan: number; features: number };
  /** Cache files the scan and the features found damaged or outdated and made again. */
  remade: CacheTally;
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

export async function prepare(config: LrFindConfig & Partial<TrainConfig>, ctx: JobContext): Promise<Prepared> {
  const scanStart = performance.now();
  let dataset = await scanDataset(config.root, {
    validFraction: config.validFraction,
    signal: ctx.signal,
    onProgress: (done, total) => reportProgress(ctx, 'scan', done, total),
  });
  const scanRemade = dataset.remade; // applyEdits makes a new Dataset without it
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
    onProgress: (p) => reportProgress(ctx, 'features', p.done, p.total),
  });
  const set = trainingSet(features);
  if (set.classes.length < 2) throw new EngineError('train/one-class', `Training needs at least two classes; ${config.root} has ${set.classes.length}. Add a folder of photos for each class.`);
  if (set.train.labels.length === 0) throw new EngineError('train/no-images', `No usable training photos were found in ${config.root}.`);
  if (set.valid.labels.length === 0) {
    throw new EngineError('train/no-validation', `No photos are set aside for validation in ${config.root}. Add more photos per class, or a "valid" folder.`);
  }
  return { dataset, features, set, seconds: { scan, features: since(featuresStart) }, remade: addTallies(scanRemade, features.stats.remade) };
}
