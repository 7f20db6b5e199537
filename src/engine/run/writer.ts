// Writes a run folder. Everything goes into a hidden ".<name>.partial" sibling and is renamed into
// place only when finish() has written the result, so a cancelled or crashed run never replaces or
// damages another. Each file is checked against its schema before it is written: the writer cannot
// produce a folder the reader would refuse.
import fs from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { BackboneSpec } from '../backbones/catalog';
import { saveLayersModelToDir } from '../export/tfjs-io';
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
  /** Removes the partial folder; the final location is untouched. */
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

export async function openRunWriter(dir: string): Promise<RunWriter> {
  const final = path.resolve(dir);
  const partial = partialDirOf(final);
  await fs.promises.rm(partial, { recursive: true, force: true }); // left by a crash: never a finished run
  await fs.promises.mkdir(partial, { recursive: true });
  const file = (name: string) => path.join(partial, name);
  const json = async <T>(name: string, schema: z.ZodType<T>, value: unknown) => writeFileAtomic(file(name), `${JSON.stringify(schema.parse(value), null, 2)}\n`);
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
    writeConfig: (config) => json(RUN_FILES.config, RunConfig, config),
    appendEpoch(metrics) {
      const line = `${JSON.stringify(RunEpoch.parse(metrics))}\n`;
      appended = appended.then(() => fs.promises.appendFile(file(RUN_FILES.metrics), line));
      return appended;
    },
    writePredictions: (predictions) => json(RUN_FILES.predictions, RunPredictions, predictions),
    writeHead: async (model) => void (await saveLayersModelToDir(model, file(RUN_FILES.head))),
    writeBackbone: async (model) => void (await saveLayersModelToDir(model, file(RUN_FILES.backbone))),
    writeMetadata: ({ spec, ...known }) =>
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
    async finish(result) {
      await appended;
      await json(RUN_FILES.result, RunResult, result);
      await commit();
    },
    discard: () => fs.promises.rm(partial, { recursive: true, force: true }),
  };
}
