// TF.js graph model: model.json + weights.bin, loadable by stock tf.loadGraphModel in a browser
// (over HTTP or from dropped files) and in Node (with a file IOHandler or tfjs-node's file://).
import * as tf from '@tensorflow/tfjs';
import { startTfjsRunners } from '../tfjs-pool';
import { graphToGraphModel } from '../graph/tfjs-graph';
import { loadTfjsExport, writeArtifactsToDir } from '../tfjs-io';
import type { Loader, LoadOptions, ModelFormat, Runner } from './types';

export const tfjsFormat: ModelFormat = {
  id: 'tfjs',
  modelFile: 'model.json',
  inputName: 'pixels',
  outputName: 'probabilities',
  async write(dir, graph) {
    // TensorFlow ops from the folded graph: the same answers (verification checks), each convolution one fused kernel.
    return writeArtifactsToDir(graphToGraphModel(graph), dir);
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
  return { runtime: `tfjs-${tf.getBackend()}`, ...(await loadTfjsExport(dir)) };
}
