// Reads a finished training run folder (docs/ENGINE.md "run dir") for review, heatmaps, export and
// predict: one reader, so every feature accepts the same folders and names the same wrong file.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EngineError } from '../shared/rpc';
import { Split, TrainResult } from '../shared/schemas';
import type { SavedPrediction } from './interpret/review';

const PredictionsFile = z.object({
  classes: z.array(z.string()).min(1),
  items: z.array(
    z.object({
      file: z.string(),
      path: z.string().optional(),
      id: z.string(),
      split: Split,
      label: z.string(),
      probabilities: z.array(z.number().finite()),
    }),
  ),
});

/** What is needed from metadata.json and config.json; the rest is kept but not checked, so both may grow. */
const BackboneRef = z.union([z.string(), z.object({ id: z.string() }).transform((b) => b.id)]).optional();
const RunMetadata = z.looseObject({ backbone: BackboneRef, backboneId: z.string().optional(), tta: z.boolean().optional() });
const RunConfig = z.looseObject({ backbone: BackboneRef, classes: z.array(z.string()).min(1).optional(), root: z.string().optional() });

export interface RunInfo {
  dir: string;
  /** Backbone id the head was trained on. */
  backbone: string;
  classes: string[];
  /** The photo folder it was trained on, as config.json recorded it. */
  root: string | null;
  headDir: string;
  /** Folder of the fine-tuned feature model, when the run fine-tuned the backbone. */
  backboneDir: string | null;
  /** Every photo's recorded probabilities (predictions.json); null when the run wrote none. */
  predictions: SavedPrediction[] | null;
  /** result.json when it is what this version writes; null for an older run's. */
  result: z.infer<typeof TrainResult> | null;
  /** The run's own metadata.json, when it wrote one. */
  metadata: Record<string, unknown> | null;
  /** The app predicts with test-time augmentation: the mean of the photo and its mirror image. */
  tta: boolean;
}

const howToTrain = (dir: string) => `Train a model with \`foldwise train <photo folder> --out ${dir}\`, or choose a run folder that has a result.json.`;

/** True when `dir` looks like a run folder (as opposed to an exported model). */
export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(path.join(dir, 'head', 'model.json'));
}

/** Throws a clear EngineError unless `dir` holds a finished run. */
export function checkRunDir(dir: string): string {
  const resolved = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch {
    throw new EngineError('run/missing', `The run folder ${resolved} does not exist. ${howToTrain(resolved)}`, { dir: resolved });
  }
  if (!stat.isDirectory()) {
    throw new EngineError('run/missing', `${resolved} is a file, not a run folder. ${howToTrain(resolved)}`, { dir: resolved });
  }
  if (!fs.existsSync(path.join(resolved, 'result.json'))) {
    const partial = path.join(path.dirname(resolved), `.${path.basename(resolved)}.partial`);
    const why = fs.existsSync(partial)
      ? 'Its training is still running, or was cancelled or crashed before finishing.'
      : 'Training never finished there (cancelled or crashed), or it is not a Foldwise run folder.';
    throw new EngineError('run/incomplete', `The run folder ${resolved} has no result.json. ${why} ${howToTrain(resolved)}`, { dir: resolved });
  }
  return resolved;
}

async function readJson<T>(dir: string, name: string, schema: z.ZodType<T>): Promise<T> {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    throw new EngineError('run/incomplete', `The run folder ${dir} has no ${name}. Train the model again to recreate it.`, { dir, file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new EngineError('run/damaged', `${file} is not valid JSON (${(error as Error).message}). Train the model again to recreate it.`, { file });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new EngineError('run/damaged', `${file} is not what Foldwise wrote: ${z.prettifyError(parsed.error)}. Train the model again to recreate it.`, { file });
  }
  return parsed.data;
}

async function readOptionalJson<T>(dir: string, name: string, schema: z.ZodType<T>): Promise<T | null> {
  return fs.existsSync(path.join(dir, name)) ? readJson(dir, name, schema) : null;
}

/** Reads a finished run, checking that its files agree with each other. */
export async function readRun(dir: string): Promise<RunInfo> {
  const resolved = checkRunDir(dir);
  const metadata = await readOptionalJson(resolved, 'metadata.json', RunMetadata);
  const config = await readOptionalJson(resolved, 'config.json', RunConfig);
  const predictions = await readOptionalJson(resolved, 'predictions.json', PredictionsFile);
  const backbone = metadata?.backbone ?? metadata?.backboneId ?? config?.backbone;
  if (!backbone) {
    throw new EngineError('run/damaged', `Neither metadata.json nor config.json in ${resolved} says which backbone the model was trained on. Train the model again to recreate them.`, { dir: resolved });
  }
  const classes = config?.classes ?? predictions?.classes;
  if (!classes) {
    throw new EngineError('run/damaged', `Neither config.json nor predictions.json in ${resolved} lists the classes. Train the model again to recreate them.`, { dir: resolved });
  }
  if (predictions) checkPredictions(path.join(resolved, 'predictions.json'), predictions, classes);
  const result = await readOptionalJson(resolved, 'result.json', z.unknown());
  const backboneDir = path.join(resolved, 'backbone');
  return {
    dir: resolved,
    backbone,
    classes,
    root: config?.root ?? null,
    headDir: path.join(resolved, 'head'),
    backboneDir: fs.existsSync(path.join(backboneDir, 'model.json')) ? backboneDir : null,
    predictions: predictions?.items ?? null,
    result: TrainResult.safeParse(result).data ?? null,
    metadata,
    tta: metadata?.tta ?? false,
  };
}

function checkPredictions(file: string, { classes: listed, items }: z.infer<typeof PredictionsFile>, classes: string[]): void {
  if (listed.join('\n') !== classes.join('\n')) {
    throw new EngineError('run/damaged', `${file} lists classes ${listed.join(', ')} but config.json lists ${classes.join(', ')}. Train the model again to recreate it.`, { file });
  }
  items.forEach((item, row) => {
    if (item.probabilities.length !== classes.length) {
      throw new EngineError('run/damaged', `${file}: ${item.file} has ${item.probabilities.length} probabilities for ${classes.length} classes. Train the model again to recreate it.`, { file, row });
    }
    if (!classes.includes(item.label)) {
      throw new EngineError('run/damaged', `${file}: ${item.file} is labelled "${item.label}", which is not one of the run's classes (${classes.join(', ')}).`, { file, row });
    }
  });
}
