// The run folder's format (docs/ENGINE.md "run dir"): every file's name and schema, in one place, so
// the trainer that writes a run and every stage that reads one (review, heatmaps, export, predict,
// projects, test fixtures) agree on it. No other file names a run file.
import { z } from 'zod';
import { Accuracy, EpochMetrics, Split, TrainConfig, TrainResult } from '../../shared/schemas';

/** The layout this Foldwise writes; a run with a higher number was made by a newer Foldwise. */
export const RUN_FORMAT = 1;

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  predictions: 'predictions.json',
  metadata: 'metadata.json',
  result: 'result.json',
  /** tfjs layers model: [N, featureSize] -> softmax [N, classes]. */
  head: 'head',
  /** Only after fine-tuning helped: the tuned feature model, same inputs and outputs as the stock one. */
  backbone: 'backbone',
} as const;

/** The file inside a model folder that says it is there (tfjs layers format). */
export const MODEL_JSON = 'model.json';

/** What the user asked for, resolved: the learning rate found, the classes seen, the recipe's knobs. */
export const RunConfig = TrainConfig.extend({
  root: z.string(),
  classes: z.array(z.string()).min(1),
  lr: z.number().positive(),
  lrSource: z.string(),
  epochs: z.number().int().positive(),
  head: z.object({ hidden: z.number().int().nonnegative(), dropout: z.number() }),
  batchSize: z.number().int().positive(),
  weightDecay: z.number(),
  labelSmoothing: z.number(),
  augmentedViews: z.number().int().nonnegative(),
  tta: z.boolean(),
  bestEpochBy: z.string(),
});
export type RunConfig = z.infer<typeof RunConfig>;

export const SavedPrediction = z.object({
  /** Relative to the photo folder, with forward slashes. */
  file: z.string(),
  /** Absolute path at training time (the photo may have moved since). */
  path: z.string().optional(),
  /** Content id: the photo is unchanged while it matches. */
  id: z.string(),
  split: Split,
  label: z.string(),
  probabilities: z.array(z.number().finite()),
});
export type SavedPrediction = z.infer<typeof SavedPrediction>;

/** Every photo's probabilities as the app computes them (valid and test with TTA when the run uses it). */
export const RunPredictions = z.object({ classes: z.array(z.string()).min(1), items: z.array(SavedPrediction) });
export type RunPredictions = z.infer<typeof RunPredictions>;

/** Beside the model: what an app needs to use it, and how it was made. */
export const RunMetadata = z.object({
  /** Absent in runs written before the format was numbered; those are format 1. */
  runFormat: z.number().int().positive().default(RUN_FORMAT),
  labels: z.array(z.string()).min(1),
  backbone: z.string(),
  inputSize: z.number().int().positive(),
  featureSize: z.number().int().positive(),
  preprocessing: z.object({ scale: z.number(), offset: z.number() }),
  recipe: z.object({ size: z.number().int().positive(), resize: z.literal('shorter-side'), crop: z.literal('center'), interpolation: z.literal('bilinear') }),
  head: z.object({ inputDim: z.number().int().positive(), classes: z.number().int().positive(), hidden: z.number().int().nonnegative(), dropout: z.number() }),
  /** True when backbone/ holds a fine-tuned feature model that the head was trained with. */
  fineTuned: z.boolean(),
  /** Which layers the kept fine-tuning trained (top: those above `cut`); null when none was kept or in runs from before it was recorded. */
  fineTune: z.object({ layers: z.enum(['top', 'whole']), cut: z.string().nullable() }).nullable().default(null),
  /** The app predicts with the mean of the photo and its mirror image. */
  tta: z.boolean(),
  metrics: z.object({ valid: Accuracy, test: Accuracy.nullable(), bestEpoch: z.number().int() }),
  createdAt: z.string(),
  appVersion: z.string(),
});
export type RunMetadata = z.infer<typeof RunMetadata>;

/** Written last, so a run folder with one is finished. */
export { TrainResult as RunResult };
export type RunResult = z.infer<typeof TrainResult>;

/** One line of the metrics log, appended as each epoch ends. */
export { EpochMetrics as RunEpoch };
