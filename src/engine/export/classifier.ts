// The one self-contained model that export writes: pixels 0-255 NHWC -> (preprocessing, backbone,
// pooling: the run's feature model) -> the run's head -> class probabilities in label order.
import * as tf from '@tensorflow/tfjs';
import { getBackbone, type BackboneSpec } from '../backbones/catalog';
import { loadFeatureModel } from '../backbones/load';
import { loadLayersModelFromFolder } from '../backbones/model-io';
import { EngineError } from '../../shared/rpc';
import type { RunInfo } from '../run';

export interface Classifier {
  model: tf.LayersModel;
  spec: BackboneSpec;
  labels: string[];
}

/** Loads the run's feature model (fine-tuned or stock) for pixels 0-255 in, features out. */
export async function loadRunFeatureModel(run: RunInfo): Promise<tf.LayersModel> {
  return run.backboneDir ? loadLayersModelFromFolder(run.backboneDir) : loadFeatureModel(run.backbone);
}

/** The run's feature model and head, checked to fit each other and the run's classes. The caller disposes both. */
export async function loadRunModels(run: RunInfo): Promise<{ features: tf.LayersModel; head: tf.LayersModel }> {
  const features = await loadRunFeatureModel(run);
  let head: tf.LayersModel;
  try {
    head = await loadLayersModelFromFolder(run.headDir);
  } catch (error) {
    features.dispose();
    throw error instanceof EngineError
      ? new EngineError('run/damaged', `The model head in ${run.headDir} cannot be loaded: ${error.message} Train the model again to recreate it.`, { dir: run.headDir })
      : error;
  }
  const inputs = head.inputs[0]!.shape[1];
  const outputs = head.outputs[0]!.shape[1];
  const featureSize = features.outputs[0]!.shape[1];
  const problem =
    outputs !== run.classes.length
      ? `has ${outputs} outputs but the run has ${run.classes.length} classes`
      : inputs !== featureSize
        ? `takes ${inputs} features but the ${run.backbone} backbone gives ${featureSize}`
        : null;
  if (problem) {
    features.dispose();
    head.dispose();
    throw new EngineError('run/damaged', `The model in ${run.headDir} ${problem}. Train the model again.`, { dir: run.headDir });
  }
  return { features, head };
}

/** Joins the run's feature model and head into one model. The caller disposes `model`. */
export async function buildClassifier(run: RunInfo): Promise<Classifier> {
  const spec = getBackbone(run.backbone);
  const { features, head } = await loadRunModels(run);
  // A plain name inside the exported model.json, and no clash with the feature model's own layer names.
  (head as unknown as { name: string }).name = 'head';
  if (!run.tta) {
    const probabilities = head.apply(features.outputs[0]!) as tf.SymbolicTensor;
    return { model: tf.model({ inputs: features.inputs, outputs: probabilities, name: 'foldwise_classifier' }), spec, labels: run.classes };
  }
  // The app averages the photo and its mirror image (test-time augmentation), so the export does too.
  const pixels = tf.input({ shape: [spec.inputSize, spec.inputSize, 3], dtype: 'float32', name: 'pixels' });
  const mirror = mirrorLayers(spec.inputSize);
  const mirrored = mirror.layers.reduce((x, layer) => layer.apply(x) as tf.SymbolicTensor, pixels);
  mirror.dispose(); // the layer has copied its weights when it was applied
  const views = [pixels, mirrored].map((x) => head.apply(features.apply(x) as tf.SymbolicTensor) as tf.SymbolicTensor);
  const probabilities = tf.layers.average({ name: 'mean_of_photo_and_mirror' }).apply(views) as tf.SymbolicTensor;
  return { model: tf.model({ inputs: pixels, outputs: probabilities, name: 'foldwise_classifier' }), spec, labels: run.classes };
}

/**
 * A left-right mirror from stock layers (tfjs has no flip layer): move the width axis last, multiply
 * by the reversed identity (exact: one 1 and zeros per output), move it back.
 */
function mirrorLayers(width: number): { layers: tf.layers.Layer[]; dispose(): void } {
  const reversed = tf.tidy(() => tf.reverse(tf.eye(width), 1));
  const dense = tf.layers.dense({ units: width, useBias: false, trainable: false, weights: [reversed], name: 'mirror' });
  return {
    layers: [tf.layers.permute({ dims: [1, 3, 2], name: 'width_last' }), dense, tf.layers.permute({ dims: [1, 3, 2], name: 'width_back' })],
    dispose: () => reversed.dispose(),
  };
}
