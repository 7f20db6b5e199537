// Reads a finished run folder for review, heatmaps, export, predict and projects: one reader, so every
// feature accepts the same folders and names the same wrong file, with what to do about it.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EngineError } from '../../shared/rpc';
import { appVersion } from '../paths';
import { MODEL_JSON, RUN_FILES, RUN_FORMAT, RunConfig, RunMetadata, RunPredictions, RunResult, type SavedPrediction } from './format';
import { partialDirOf } from './writer';

export interface RunInfo {
  dir: string;
  /** Backbone id the head was trained on. */
  backbone: string;
  classes: string[];
  /** The photo folder it was trained on. */
  root: string;
  headDir: string;
  /** Folder of the fine-tuned feature model, when the run fine-tuned the backbone. */
  backboneDir: string | null;
  /** Every photo's recorded probabilities. */
  predictions: SavedPrediction[];
  config: RunConfig;
  metadata: RunMetadata;
  result: RunResult;
  /** The app predicts with test-time augmentation: the mean of the photo and its mirror image. */
  tta: boolean;
}

const howToTrain = (dir: string) => `Train a model with \`foldwise train <photo folder> --out ${dir}\`, or choose a finished run folder.`;
const trainAgain = 'Train the model again to recreate it.';

/** True when `dir` looks like a run folder (as opposed to an exported model). */
export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILES.config)) && fs.existsSync(path.join(dir, RUN_FILES.head, MODEL_JSON));
}

/** Throws a clear EngineError unless `dir` holds a finished run; returns its absolute path. */
export function checkRunDir(dir: string): string {
  const resolved = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch {
    if (fs.existsSync(partialDirOf(resolved))) {
      throw new EngineError('run/incomplete', `The run folder ${resolved} is not there yet: its training is still running, or was cancelled or crashed before finishing. ${howToTrain(resolved)}`, { dir: resolved });
    }
    throw new EngineError('run/missing', `The run folder ${resolved} does not exist. ${howToTrain(resolved)}`, { dir: resolved });
  }
  if (!stat.isDirectory()) {
    throw new EngineError('run/missing', `${resolved} is a file, not a run folder. ${howToTrain(resolved)}`, { dir: resolved });
  }
  if (!fs.existsSync(path.join(resolved, RUN_FILES.result))) {
    const why = fs.existsSync(partialDirOf(resolved))
      ? 'Its training is still running, or was cancelled or crashed before finishing.'
      : 'Training never finished there (cancelled or crashed), or it is not a Foldwise run folder.';
    throw new EngineError('run/incomplete', `The run folder ${resolved} has no ${RUN_FILES.result}. ${why} ${howToTrain(resolved)}`, { dir: resolved });
  }
  return resolved;
}

/** Changes whenever the run at `dir` is trained again in place (for caches of loaded models). */
export function runStamp(dir: string): string {
  const result = path.join(path.resolve(dir), RUN_FILES.result);
  return fs.existsSync(result) ? `${result}@${fs.statSync(result).mtimeMs}` : result;
}

async function readJson<T>(dir: string, name: string, schema: z.ZodType<T>): Promise<T> {
  const file = path.join(dir, name);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    throw new EngineError('run/incomplete', `The run folder ${dir} has no ${name}. It was made by an older Foldwise, or the file was removed. ${trainAgain}`, { dir, file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new EngineError('run/damaged', `${file} is not valid JSON (${(error as Error).message}). ${trainAgain}`, { file });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw notThisFormat(file, raw, parsed.error);
  return parsed.data;
}

/** A file that does not parse: say whether another version of Foldwise wrote it, or it is damaged. */
function notThisFormat(file: string, raw: unknown, error: z.ZodError): EngineError {
  const problems = z.prettifyError(error);
  const format = (raw as { runFormat?: unknown } | null)?.runFormat;
  if (typeof format === 'number' && format > RUN_FORMAT) {
    return new EngineError('run/newer-format', `${file} was written by a newer Foldwise (run format ${format}; this one reads ${RUN_FORMAT}). Update Foldwise to open this run.`, { file });
  }
  const madeBy = (raw as { appVersion?: unknown } | null)?.appVersion;
  if (typeof madeBy === 'string' && madeBy !== appVersion()) {
    return new EngineError('run/older-format', `${file} was made by Foldwise ${madeBy}, whose run folders this version (${appVersion()}) cannot open: ${problems}. ${trainAgain}`, { file });
  }
  return new EngineError('run/damaged', `${file} is not what Foldwise writes (made by an older Foldwise, or damaged): ${problems}. ${trainAgain}`, { file });
}

/** The result of a finished run, or null when it has none or it cannot be read. */
export async function readRunResult(dir: string): Promise<RunResult | null> {
  return readJson(path.resolve(dir), RUN_FILES.result, RunResult).catch(() => null);
}

/** Reads a finished run, checking that its files agree with each other. */
export async function readRun(dir: string): Promise<RunInfo> {
  const resolved = checkRunDir(dir);
  // Metadata first: it is the file that says which version of the format the run is in.
  const metadata = await readJson(resolved, RUN_FILES.metadata, RunMetadata);
  const config = await readJson(resolved, RUN_FILES.config, RunConfig);
  const predictions = await readJson(resolved, RUN_FILES.predictions, RunPredictions);
  const result = await readJson(resolved, RUN_FILES.result, RunResult);
  const { classes, backbone } = config;
  const disagree = (file: string, what: string, theirs: string) => {
    throw new EngineError('run/damaged', `${path.join(resolved, file)} lists ${what} ${theirs} but ${RUN_FILES.config} says ${what === 'classes' ? classes.join(', ') : backbone}. ${trainAgain}`, { file: path.join(resolved, file) });
  };
  const same = (a: string[]) => a.join('\n') === classes.join('\n');
  if (!same(metadata.labels)) disagree(RUN_FILES.metadata, 'classes', metadata.labels.join(', '));
  if (!same(result.classes)) disagree(RUN_FILES.result, 'classes', result.classes.join(', '));
  if (metadata.backbone !== backbone) disagree(RUN_FILES.metadata, 'backbone', metadata.backbone);
  checkPredictions(path.join(resolved, RUN_FILES.predictions), predictions, classes);
  const headDir = path.join(resolved, RUN_FILES.head);
  if (!fs.existsSync(path.join(headDir, MODEL_JSON))) {
    throw new EngineError('run/incomplete', `The run folder ${resolved} has no model head (${path.join(headDir, MODEL_JSON)}). ${trainAgain}`, { dir: resolved });
  }
  const backboneDir = path.join(resolved, RUN_FILES.backbone);
  if (metadata.fineTuned && !fs.existsSync(path.join(backboneDir, MODEL_JSON))) {
    throw new EngineError('run/incomplete', `The run in ${resolved} was fine-tuned, but its tuned backbone (${path.join(backboneDir, MODEL_JSON)}) is missing. ${trainAgain}`, { dir: resolved });
  }
  return {
    dir: resolved,
    backbone,
    classes,
    root: config.root,
    headDir,
    backboneDir: metadata.fineTuned ? backboneDir : null,
    predictions: predictions.items,
    config,
    metadata,
    result,
    tta: metadata.tta,
  };
}

function checkPredictions(file: string, { classes: listed, items }: RunPredictions, classes: string[]): void {
  if (listed.join('\n') !== classes.join('\n')) {
    throw new EngineError('run/damaged', `${file} lists classes ${listed.join(', ')} but ${RUN_FILES.config} lists ${classes.join(', ')}. ${trainAgain}`, { file });
  }
  items.forEach((item, row) => {
    if (item.probabilities.length !== classes.length) {
      throw new EngineError('run/damaged', `${file}: ${item.file} has ${item.probabilities.length} probabilities for ${classes.length} classes. ${trainAgain}`, { file, row });
    }
    if (!classes.includes(item.label)) {
      throw new EngineError('run/damaged', `${file}: ${item.file} is labelled "${item.label}", which is not one of the run's classes (${classes.join(', ')}).`, { file, row });
    }
  });
}
