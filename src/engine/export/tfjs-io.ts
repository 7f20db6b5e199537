// Reading and writing TF.js models (layers models: runs and backbones; graph models: the TF.js export) as model.json + weight files with plain Node file I/O,
// because the file:// handler of tfjs needs tfjs-node, which cannot be installed everywhere.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

import { folderModelHandler } from '../backbones/model-io';
import { predictPixels } from '../predict-array';
import { disposeModels } from './dispose-models';
import type { LocalCopy } from './runner-pool';

// Reading is the backbones' loader (same format, errors that name the file); the names used in export/ stay.
export { folderModelHandler as dirLoader, loadLayersModelFromFolder as loadLayersModelFromDir } from '../backbones/model-io';

/**
 * A TF.js export folder loaded to classify photos: in this thread, in verification's worker threads and
 * for `foldwise predict`. Exports are graph models; Foldwise wrote layers models until 2026-12, and
 * those still load.
 */
export async function loadTfjsExport(dir: string): Promise<LocalCopy> {
  const artifacts = await folderModelHandler(dir).load!();
  const layers = artifacts.format === 'layers-model';
  const model = layers ? await tf.loadLayersModel(tf.io.fromMemory(artifacts)) : await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  return {
    run: (pixels, n) => predictPixels(model, pixels, n),
    inputSize: model.inputs[0]!.shape![1]!,
    dispose: () => (layers ? disposeModels(model as tf.LayersModel) : model.dispose()),
  };
}

/** Saves `model` as `<dir>/model.json` + `<dir>/weights.bin` (the layout tf.loadLayersModel reads over HTTP too). */
export async function saveLayersModelToDir(model: tf.LayersModel, dir: string): Promise<string[]> {
  let files: string[] = [];
  await model.save({
    save: async (artifacts) => {
      const weightData = artifacts.weightData;
      const bytes = weightData === undefined ? new ArrayBuffer(0) : tf.io.concatenateArrayBuffers(Array.isArray(weightData) ? weightData : [weightData]);
      files = await writeArtifactsToDir({ ...artifacts, weightData: bytes }, dir);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
    },
  });
  return files;
}

/** Writes saved-model artifacts (topology + one weight buffer) as `<dir>/model.json` + `<dir>/weights.bin`. */
export async function writeArtifactsToDir(
  artifacts: Pick<tf.io.ModelArtifacts, 'modelTopology' | 'weightSpecs' | 'format' | 'generatedBy'> & { weightData: ArrayBuffer },
  dir: string,
): Promise<string[]> {
  await fs.promises.mkdir(dir, { recursive: true });
  const json = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: 'foldwise',
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
  };
  await fs.promises.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
  await fs.promises.writeFile(path.join(dir, 'weights.bin'), new Uint8Array(artifacts.weightData));
  return ['model.json', 'weights.bin'];
}
