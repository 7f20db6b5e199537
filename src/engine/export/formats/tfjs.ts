// TF.js layers model: model.json + weights.bin, loadable by stock tf.loadLayersModel in a browser
// (over HTTP or from dropped files) and in Node (with a file IOHandler or tfjs-node's file://).
import * as tf from '@tensorflow/tfjs';
import { startTfjsWorkers } from '../tfjs-pool';
import { optimizedArtifacts } from '../tfjs-optimize';
import { dirLoader, writeArtifactsToDir } from '../tfjs-io';
import type { Loader, LoadOptions, ModelFormat, Runner } from './types';

export const tfjsFormat: ModelFormat = {
  id: 'tfjs',
  modelFile: 'model.json',
  inputName: 'pixels',
  outputName: 'head',
  async write(dir, model) {
    // Batch norms folded into the convolutions: the same answers (verification checks), about half the work.
    const { artifacts } = await optimizedArtifacts(model);
    return writeArtifactsToDir(artifacts, dir);
  },
  load(dir, opts) {
    return prepareLoad(opts ?? {}).load(dir);
  },
  prepareLoad,
};

/**
 * In this thread, or with `workers` > 1 in that many worker threads, each running stock tfjs on wasm
 * (which is single-threaded in Node). Native TensorFlow (tfjs-node) already uses every core here.
 */
function prepareLoad(opts: LoadOptions): Loader {
  const native = tf.getBackend() === 'tensorflow' || tf.getBackend() === 'tensorflow-gpu';
  if ((opts.workers ?? 0) <= 1 || native) return { load: loadInThread, dispose: () => undefined };
  const pool = startTfjsWorkers(opts.workers!);
  return {
    async load(dir) {
      try {
        return await pool.load(dir);
      } catch (error) {
        pool.dispose();
        const runner = await loadInThread(dir);
        runner.runtime += ` (worker threads failed: ${(error as Error).message})`;
        return runner;
      }
    },
    dispose: () => pool.dispose(),
  };
}

async function loadInThread(dir: string): Promise<Runner> {
  const model = await tf.loadLayersModel(dirLoader(dir));
  const [, h, w, c] = model.inputs[0]!.shape as number[];
  return {
    runtime: `tfjs-${tf.getBackend()}`,
    inputSize: h!,
    async run(pixels, n) {
      const y = tf.tidy(() => model.predict(tf.tensor4d(pixels, [n, h!, w!, c!])) as tf.Tensor);
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
