// TF.js layers model: model.json + weights.bin, loadable by stock tf.loadLayersModel in a browser
// (over HTTP or from dropped files) and in Node (with a file IOHandler or tfjs-node's file://).
import * as tf from '@tensorflow/tfjs';
import { dirLoader, saveLayersModelToDir } from '../tfjs-io';
import type { ModelFormat } from './types';

export const tfjsFormat: ModelFormat = {
  id: 'tfjs',
  modelFile: 'model.json',
  inputName: 'pixels',
  outputName: 'head',
  async write(dir, model) {
    return saveLayersModelToDir(model, dir);
  },
  async load(dir) {
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
  },
};
