// The in-process TensorFlow.js route: tfjs-node when it could install, or whatever tfjs backend is
// active (the reference the other routes are tested against).
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from '../backbones/catalog';
import { loadFeatureModel } from '../backbones/load';
import type { Extractor } from './extractor';
import { predictPixels } from '../predict-array';

export async function createTfjsExtractor(backboneId: string): Promise<Extractor> {
  const spec = getBackbone(backboneId);
  await tf.ready();
  const model = await loadFeatureModel(backboneId);
  const size = spec.inputSize;
  const backend = tf.getBackend();
  return {
    backend: backend === 'tensorflow' ? 'tensorflow' : `tfjs-${backend}`,
    route: backend === 'tensorflow' ? 'tfjs-node' : backend === 'webgpu' ? 'webgpu' : 'tfjs',
    notes: '',
    featureSize: spec.featureSize,
    inputSize: size,
    async embed(pixels, n) {
      checkPixels(pixels, n, size);
      return predictPixels(model, pixels, n);
    },
    dispose() {
      model.dispose();
    },
  };
}

export function checkPixels(pixels: Uint8Array, n: number, size: number): void {
  if (!Number.isInteger(n) || n < 0 || pixels.length !== n * size * size * 3) {
    throw new Error(`embed expects ${n}x${size}x${size}x3 pixels, got ${pixels.length} values`);
  }
}
