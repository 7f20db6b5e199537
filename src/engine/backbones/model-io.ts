// Reads a TF.js layers model (model.json + the weight files it names) from a folder with plain Node
// file I/O: tfjs's own file:// handler needs tfjs-node, which cannot install everywhere.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../../shared/rpc';

interface ModelJson {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** An IOHandler that loads `<dir>/model.json` and its weight shards, in manifest order. */
export function folderModelHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const file = path.join(dir, 'model.json');
      let json: ModelJson;
      try {
        json = JSON.parse(await fs.promises.readFile(file, 'utf8')) as ModelJson;
      } catch (error) {
        throw new EngineError('model/unreadable', `Cannot read the model file ${file}: ${(error as Error).message}. Choose a folder that holds a TF.js model.json.`, { file });
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new EngineError('model/invalid', `${file} is not a TF.js model (it needs "modelTopology" and "weightsManifest").`, { file });
      }
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) {
          const shardFile = path.join(dir, shard);
          try {
            shards.push(await fs.promises.readFile(shardFile));
          } catch (error) {
            throw new EngineError('model/missing-weights', `The weight file ${shardFile} named by ${file} cannot be read: ${(error as Error).message}.`, { file: shardFile });
          }
        }
      }
      const all = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
      };
    },
  };
}

/** Loads the layers model stored in `dir`. */
export function loadLayersModelFromFolder(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(folderModelHandler(dir));
}
