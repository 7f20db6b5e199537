// Reads what a finished training run left on disk (docs/ENGINE.md "run dir"), checking only
// what export, predict and the model card need, and saying which file is wrong when it is.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { EngineError } from '../../shared/rpc';
import { Split, TrainResult } from '../../shared/schemas';

const RunConfig = z.looseObject({
  backbone: z.string(),
  classes: z.array(z.string()).min(1),
  root: z.string().optional(),
});

const PredictionItem = z.looseObject({
  file: z.string(),
  path: z.string(),
  id: z.string().optional(),
  split: Split,
  label: z.string(),
  probabilities: z.array(z.number()),
});
const Predictions = z.looseObject({ classes: z.array(z.string()), items: z.array(PredictionItem) });

export type PredictionItem = z.infer<typeof PredictionItem>;

export interface RunInfo {
  dir: string;
  backbone: string;
  classes: string[];
  headDir: string;
  /** The fine-tuned feature model, when the run fine-tuned the backbone. */
  backboneDir: string | null;
  predictions: PredictionItem[];
  result: z.infer<typeof TrainResult> | null;
  /** The run's own metadata.json, when it wrote one. */
  metadata: Record<string, unknown> | null;
  /** The app predicts with test-time augmentation: the mean of the photo and its mirror image. */
  tta: boolean;
}

/** True when `dir` looks like a run folder (as opposed to an exported model). */
export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(path.join(dir, 'head', 'model.json'));
}

export async function readRun(dir: string): Promise<RunInfo> {
  const runDir = path.resolve(dir);
  if (!fs.existsSync(runDir) || !fs.statSync(runDir).isDirectory()) {
    throw new EngineError('export/no-run', `There is no training run at ${runDir}. Choose the folder of a finished run (it holds config.json and head/).`, { dir: runDir });
  }
  if (!isRunDir(runDir)) {
    throw new EngineError('export/not-a-run', `${runDir} is not a finished training run: it needs config.json and head/model.json. Train a model first, then export that run.`, { dir: runDir });
  }
  const config = await readJson(path.join(runDir, 'config.json'), RunConfig);
  const predictionsFile = path.join(runDir, 'predictions.json');
  const predictions = fs.existsSync(predictionsFile) ? await readJson(predictionsFile, Predictions) : null;
  if (predictions && predictions.classes.join('\n') !== config.classes.join('\n')) {
    throw new EngineError('export/bad-run', `${predictionsFile} lists classes ${predictions.classes.join(', ')} but config.json lists ${config.classes.join(', ')}. The run is damaged; train it again.`);
  }
  const resultFile = path.join(runDir, 'result.json');
  const metadataFile = path.join(runDir, 'metadata.json');
  const backboneDir = path.join(runDir, 'backbone');
  const metadata = fs.existsSync(metadataFile) ? await readJson(metadataFile, z.record(z.string(), z.unknown())) : null;
  return {
    dir: runDir,
    backbone: config.backbone,
    classes: config.classes,
    headDir: path.join(runDir, 'head'),
    backboneDir: fs.existsSync(path.join(backboneDir, 'model.json')) ? backboneDir : null,
    predictions: predictions?.items ?? [],
    result: fs.existsSync(resultFile) ? await readJson(resultFile, TrainResult) : null,
    metadata,
    tta: metadata?.tta === true,
  };
}

async function readJson<T>(file: string, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (error) {
    throw new EngineError('export/bad-run', `Cannot read ${file}: ${(error as Error).message}. The run is damaged; train it again.`, { file });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new EngineError('export/bad-run', `${file} is not what a training run writes: ${z.prettifyError(parsed.error)}`, { file });
  }
  return parsed.data;
}
