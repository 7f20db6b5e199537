// TF.js layers model: model.json + weights.bin, loadable by stock tf.loadLayersModel in a browser
// (over HTTP or from dropped files) and in Node (with a file IOHandler or tfjs-node's file://).
import * as tf from '@tensorflow/tfjs';
import { startTfjsRunners } from '../tfjs-pool';
import { graphToLayersModel } from '../graph/tfjs';
import { dirLoader, saveLayersModelToDir } from '../tfjs-io';
import type { Loader, LoadOptions, ModelFormat, Runner } from './types';
import { predictPixels } from '../../predict-array';
import { disposeModels } from '../dispose-models';

export const tfjsFormat: ModelFormat = {
  id: 'tfjs',
  modelFile: 'model.json',
  inputName: 'pixels',
  outputName: 'probabilities',
  async write(dir, graph) {
    // Stock layers from the folded graph: the same answers (verification checks), about half the work of the training-time layers.
    const model = graphToLayersModel(graph);
    try {
      return await saveLayersModelToDir(model, dir);
    } finally {
      disposeModels(model);
    }
  },
  load(dir, opts) {
    return prepareLoad(opts ?? {}).load(dir);
  },
  prepareLoad,
};

/**
 * With `threads` > 1: one copy of the model in this thread and one in each of (threads - 1) worker
 * threads, each running stock tfjs on wasm (single-threaded in Node). Native TensorFlow (tfjs-node)
 * already uses every core in this thread.
 */
function prepareLoad(opts: LoadOptions): Loader {
  const native = tf.getBackend() === 'tensorflow' || tf.getBackend() === 'tensorflow-gpu';
  if ((opts.threads ?? 1) <= 1 || native) return { load: loadInThread, dispose: () => undefined };
  return startTfjsRunners(opts.threads!);
}

async function loadInThread(dir: string): Promise<Runner> {
  const model = await tf.loadLayersModel(dirLoader(dir));
  return {
    runtime: `tfjs-${tf.getBackend()}`,
    inputSize: model.inputs[0]!.shape[1]!,
    run: (pixels, n) => predictPixels(model, pixels, n),
    dispose: () => disposeModels(model),
  };
}
