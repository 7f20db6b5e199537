// Reads a finished run folder (docs/ENGINE.md "run dir") for review, with messages that say which
// folder is wrong and what to do about it.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EngineError } from '../../shared/rpc';
import { Split } from '../../shared/schemas';
import type { SavedPrediction } from './review';

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

/** What review needs from metadata.json and config.json; the rest is ignored so both may grow. */
const BackboneRef = z.union([z.string(), z.object({ id: z.string() }).transform((b) => b.id)]).optional();
const RunMetadata = z.object({ backbone: BackboneRef, backboneId: z.string().optional(), tta: z.boolean().optional() });
const RunConfig = z.object({ backbone: BackboneRef });

export interface SavedRun {
  dir: string;
  classes: string[];
  predictions: SavedPrediction[];
  /** Backbone id the head was trained on. */
  backbone: string;
  /** Folder of the fine-tuned feature model, when the run fine-tuned the backbone. */
  fineTunedBackbone: string | null;
  headDir: string;
  /** Whether the run's predictions average each photo with its mirror image (test-time augmentation). */
  tta: boolean;
}

const howToTrain = (dir: string) => `Train a model with \`foldwise train <photo folder> --out ${dir}\`, or choose a run folder that has a result.json.`;

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

/** Reads the predictions and enough metadata to review and explain a finished run. */
export async function readRun(dir: string): Promise<SavedRun> {
  const resolved = checkRunDir(dir);
  const predictionsFile = path.join(resolved, 'predictions.json');
  const { classes, items } = await readJson(resolved, 'predictions.json', PredictionsFile);
  items.forEach((item, row) => {
    if (item.probabilities.length !== classes.length) {
      throw new EngineError('run/damaged', `${predictionsFile}: ${item.file} has ${item.probabilities.length} probabilities for ${classes.length} classes. Train the model again to recreate it.`, { file: predictionsFile, row });
    }
    if (!classes.includes(item.label)) {
      throw new EngineError('run/damaged', `${predictionsFile}: ${item.file} is labelled "${item.label}", which is not one of the run's classes (${classes.join(', ')}).`, { file: predictionsFile, row });
    }
  });
  const metadata = await readOptionalJson(resolved, 'metadata.json', RunMetadata);
  const config = await readOptionalJson(resolved, 'config.json', RunConfig);
  const backbone = metadata?.backbone ?? metadata?.backboneId ?? config?.backbone;
  if (!backbone) {
    throw new EngineError('run/damaged', `Neither metadata.json nor config.json in ${resolved} says which backbone the model was trained on. Train the model again to recreate them.`, { dir: resolved });
  }
  const fineTuned = path.join(resolved, 'backbone');
  return {
    dir: resolved,
    classes,
    predictions: items,
    backbone,
    fineTunedBackbone: fs.existsSync(path.join(fineTuned, 'model.json')) ? fineTuned : null,
    headDir: path.join(resolved, 'head'),
    tta: metadata?.tta ?? false,
  };
}
