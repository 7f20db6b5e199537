// Writes a run folder. Everything goes into a hidden ".<name>.partial" sibling and is renamed into
// place only when finish() has written the result, so a cancelled or crashed run never replaces or
// damages another. Each file is checked against its schema before it is written: the writer cannot
// produce a folder the reader would refuse. A disk that is full, read-only or not the user's fails
// with a sentence naming the run folder (fs-errors.ts), checked for space before anything is written.
import fs from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { BackboneSpec } from '../backbones/catalog';
import { saveLayersModelToDir } from '../export/tfjs-io';
import { ensureSpace, makeFolder, removeMadeFolder, withPlainFsErrors, type WritePlace } from '../fs-errors';
import { appVersion, writeFileAtomic } from '../paths';
import { RUN_FILES, RUN_FORMAT, RunConfig, RunEpoch, RunMetadata, RunPredictions, RunResult } from './format';

/** What training knows for metadata.json; the writer adds how the backbone feeds the head, the time and the app version. */
export type RunMetadataInput = Pick<z.input<typeof RunMetadata>, 'labels' | 'head' | 'fineTuned' | 'fineTune' | 'tta' | 'metrics'> & { spec: BackboneSpec };

export interface RunWriter {
  /** Final location. */
  dir: string;
  writeConfig(config: z.input<typeof RunConfig>): Promise<void>;
  /** Appends one epoch to the metrics log; appends run in call order. */
  appendEpoch(metrics: z.input<typeof RunEpoch>): Promise<void>;
  writePredictions(predictions: RunPredictions): Promise<void>;
  writeHead(model: tf.LayersModel): Promise<void>;
  writeBackbone(model: tf.LayersModel): Promise<void>;
  writeMetadata(metadata: RunMetadataInput): Promise<void>;
  /** Writes the result and moves the finished run into place (replacing an older run at the same path only now). */
  finish(result: RunResult): Promise<void>;
  /** Removes the partial folder (and the parents opening it made, when empty); the final location is untouched. */
  discard(): Promise<void>;
}

/** A run id that sorts by time: 20261123-104512-k3f9. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/** The hidden folder a run at `dir` is written in until it finishes. */
export function partialDirOf(dir: string): string {
  const final = path.resolve(dir);
  return path.join(path.dirname(final), `.${path.basename(final)}.partial`);
}

export interface RunWriterOptions {
  /** About how many bytes the finished run takes (estimateRunBytes): checked free before anything is written. */
  needBytes?: number;
  /** What to suggest besides freeing space when the folder was not the user's choice (default: choose another folder). */
  instead?: string;
}

export async function openRunWriter(dir: string, opts: RunWriterOptions = {}): Promise<RunWriter> {
  const final = path.resolve(dir);
  const place: WritePlace = { folder: final, needBytes: opts.needBytes, instead: opts.instead };
  if (opts.needBytes) await ensureSpace({ ...place, needBytes: opts.needBytes });
  const partial = partialDirOf(final);
  const made = await withPlainFsErrors(place, async () => {
    await fs.promises.rm(partial, { recursive: true, force: true }); // left by a crash: never a finished run
    return makeFolder(partial);
  });
  const file = (name: string) => path.join(partial, name);
  const json = async <T>(name: string, schema: z.ZodType<T>, value: unknown) => writeFileAtomic(file(name), `${JSON.stringify(schema.parse(value), null, 2)}\n`);
  // Every write speaks of the run folder, not of the hidden partial one it goes to.
  const plain =
    <A extends unknown[]>(write: (...args: A) => Promise<void>) =>
    (...args: A) =>
      withPlainFsErrors(place, () => write(...args));
  let appended = Promise.resolve();

  async function commit() {
    const old = `${partial}.old`;
    const exists = fs.existsSync(final);
    if (exists) await fs.promises.rename(final, old);
    try {
      await fs.promises.rename(partial, final);
    } catch (error) {
      if (exists) await fs.promises.rename(old, final);
      throw error;
    }
    if (exists) await fs.promises.rm(old, { recursive: true, force: true });
  }

  return {
    dir: final,
    writeConfig: plain((config) => json(RUN_FILES.config, RunConfig, config)),
    appendEpoch: plain((metrics) => {
      const line = `${JSON.stringify(RunEpoch.parse(metrics))}\n`;
      appended = appended.then(() => fs.promises.appendFile(file(RUN_FILES.metrics), line));
      return appended;
    }),
    writePredictions: plain((predictions) => json(RUN_FILES.predictions, RunPredictions, predictions)),
    writeHead: plain(async (model) => void (await saveLayersModelToDir(model, file(RUN_FILES.head)))),
    writeBackbone: plain(async (model) => void (await saveLayersModelToDir(model, file(RUN_FILES.backbone)))),
    writeMetadata: plain(({ spec, ...known }) =>
      json(RUN_FILES.metadata, RunMetadata, {
        runFormat: RUN_FORMAT,
        backbone: spec.id,
        inputSize: spec.inputSize,
        featureSize: spec.featureSize,
        preprocessing: spec.preprocessing,
        recipe: spec.recipe,
        ...known,
        createdAt: new Date().toISOString(),
        appVersion: appVersion(),
      }),
    ),
    finish: plain(async (result) => {
      await appended;
      await json(RUN_FILES.result, RunResult, result);
      await commit();
    }),
    discard: () => removeMadeFolder(partial, made),
  };
}
