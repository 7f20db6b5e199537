// Reading and writing TF.js models (layers models: runs and backbones; graph models: the TF.js export) as model.json + weight files with plain Node file I/O,
// because the file:// handler of tfjs needs tfjs-node, which cannot be installed everywhere.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

// Reading is the backbones' loader (same format, errors that name the file); the names used in export/ stay.
export { folderModelHandler as dirLoader, loadLayersModelFromFolder as loadLayersModelFromDir } from '../backbones/model-io';

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
