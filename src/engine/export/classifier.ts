// The one self-contained model that export writes: pixels 0-255 NHWC -> (preprocessing, backbone,
// pooling: the run's feature model) -> the run's head -> class probabilities in label order.
import * as tf from '@tensorflow/tfjs';
import { getBackbone, type BackboneSpec } from '../backbones/catalog';
import { loadFeatureModel } from '../backbones/load';
import { loadLayersModelFromFolder } from '../backbones/model-io';
import type { RunInfo } from './run';

export interface Classifier {
  model: tf.LayersModel;
  spec: BackboneSpec;
  labels: string[];
}

/** Loads the run's feature model (fine-tuned or stock) for pixels 0-255 in, features out. */
export async function loadRunFeatureModel(run: RunInfo): Promise<tf.LayersModel> {
  return run.backboneDir ? loadLayersModelFromFolder(run.backboneDir) : loadFeatureModel(run.backbone);
}

/** Joins the run's feature model and head into one model. The caller disposes `model`. */
export async function buildClassifier(run: RunInfo): Promise<Classifier> {
  const spec = getBackbone(run.backbone);
  const features = await loadRunFeatureModel(run);
  const head = await loadLayersModelFromFolder(run.headDir);
  const [, featureSize] = head.inputs[0]!.shape;
  const [, classes] = head.outputs[0]!.shape;
  if (featureSize !== features.outputs[0]!.shape[1] || classes !== run.classes.length) {
    features.dispose();
    head.dispose();
    throw new Error(
      `The head in ${run.headDir} takes ${featureSize} features and gives ${classes} classes, but the backbone gives ` +
        `${features.outputs[0]!.shape[1]} features and the run has ${run.classes.length} classes. The run is damaged; train it again.`,
    );
  }
  // A plain name inside the exported model.json, and no clash with the feature model's own layer names.
  (head as unknown as { name: string }).name = 'head';
  const probabilities = head.apply(features.outputs[0]!) as tf.SymbolicTensor;
  const model = tf.model({ inputs: features.inputs, outputs: probabilities, name: 'foldwise_classifier' });
  return { model, spec, labels: run.classes };
}
