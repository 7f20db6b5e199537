// Turns a stored ImageNet model into Foldwise's feature model: RGB pixels 0-255 in, one feature
// vector per image out. Preprocessing is a built-in Rescaling layer, so the model saves, reloads and
// exports as one piece, and nobody can feed it pixels scaled the wrong way.
import * as tf from '@tensorflow/tfjs';
import { type BackboneSpec, getBackbone, PAIR_LAYER } from './catalog';
import { loadLayersModelFromFolder } from './model-io';
import { resolveBackbone, type ResolveOptions, type ResolvedBackbone } from './resolve';

/** Layer names inside every feature model, so other stages (Grad-CAM, fine-tuning, export) can find the parts. */
export const FEATURE_MODEL_LAYERS = {
  input: 'pixels',
  preprocess: 'preprocess',
  /** The nested convolutional trunk (a LayersModel used as a layer): preprocessed input -> last conv activations. */
  trunk: 'trunk',
  /** GlobalAveragePooling2D over the trunk's output: the features. */
  pool: 'features',
} as const;

export interface LoadedBackbone extends ResolvedBackbone {
  /** pixels 0-255 float32 NHWC [N, size, size, 3] -> [N, featureSize]. model.dispose() frees every weight. */
  model: tf.LayersModel;
  /** pixels 0-255 -> the heatmap layer's activations [N, h, w, featureSize]. Shares model's weights: never dispose it separately. */
  convModel: tf.LayersModel;
}

/** The original model cut at `spec.featureLayer`: its own input -> conv activations, named `name`. */
function cutTrunk(original: tf.LayersModel, spec: BackboneSpec, name: string): tf.LayersModel {
  // The Teachable Machine export is Sequential[functional trunk, pooling]; the layer lives inside the trunk.
  const owner = original.layers.find((l) => l instanceof tf.LayersModel && hasLayer(l as tf.LayersModel, spec.featureLayer)) as tf.LayersModel | undefined;
  const source = owner ?? original;
  if (!hasLayer(source, spec.featureLayer)) {
    throw new Error(`The model for ${spec.id} has no layer named ${spec.featureLayer}; the catalog and the weights disagree.`);
  }
  if (source !== original && source.outputs[0] === source.getLayer(spec.featureLayer).output) return rename(source, name);
  return tf.model({ inputs: source.inputs, outputs: source.getLayer(spec.featureLayer).output as tf.SymbolicTensor, name });
}

function hasLayer(model: tf.LayersModel, name: string): boolean {
  return model.layers.some((l) => l.name === name);
}

function rename(model: tf.LayersModel, name: string): tf.LayersModel {
  // Layer names are read-only in the typings but plain fields at runtime; the outer model looks the trunk up by name.
  (model as unknown as { name: string }).name = name;
  return model;
}

/** Wraps a trunk as pixels -> Rescaling -> trunk -> global average pooling, and the matching conv model. */
export function buildFeatureModel(trunk: tf.LayersModel, spec: BackboneSpec): { model: tf.LayersModel; convModel: tf.LayersModel } {
  const size = spec.inputSize;
  const pixels = tf.input({ shape: [size, size, 3], dtype: 'float32', name: FEATURE_MODEL_LAYERS.input });
  const scaled = tf.layers
    .rescaling({ scale: spec.preprocessing.scale, offset: spec.preprocessing.offset, name: FEATURE_MODEL_LAYERS.preprocess })
    .apply(pixels) as tf.SymbolicTensor;
  const conv = trunk.apply(scaled) as tf.SymbolicTensor;
  const features = tf.layers.globalAveragePooling2d({ name: FEATURE_MODEL_LAYERS.pool }).apply(conv) as tf.SymbolicTensor;
  return {
    model: tf.model({ inputs: pixels, outputs: features, name: `${spec.id}_features` }),
    convModel: tf.model({ inputs: pixels, outputs: conv, name: `${spec.id}_conv` }),
  };
}

/** Finds (downloading if needed), loads and cuts a backbone. The caller owns the models: dispose() them. */
export async function loadBackbone(id: string, options: ResolveOptions = {}): Promise<LoadedBackbone> {
  const resolved = await resolveBackbone(id, options);
  const trunk = resolved.parts ? await joinTrunks(resolved.spec, resolved.parts) : await loadTrunk(resolved, FEATURE_MODEL_LAYERS.trunk);
  return { ...resolved, ...buildFeatureModel(trunk, resolved.spec) };
}

async function loadTrunk(resolved: ResolvedBackbone, name: string): Promise<tf.LayersModel> {
  const original = await loadLayersModelFromFolder(resolved.dir);
  const trunk = cutTrunk(original, resolved.spec, name);
  // The ImageNet classifier head (V1's 1000-class conv_preds) is cut off: free its weights now, so that
  // disposing the feature model frees everything that was loaded.
  const kept = new Set(trunk.layers);
  for (const layer of original.layers) if (layer !== trunk && !kept.has(layer) && layer.weights.length > 0) layer.dispose();
  return trunk;
}

/**
 * A pair's trunk: each part's trunk on the same preprocessed input, their last maps joined channel-wise
 * (both are 7x7 at 224 px). Averaging the joined map gives both feature vectors side by side, and
 * Grad-CAM sees every channel the head uses.
 */
async function joinTrunks(spec: BackboneSpec, parts: ResolvedBackbone[]): Promise<tf.LayersModel> {
  const trunks: tf.LayersModel[] = [];
  for (const part of parts) trunks.push(await loadTrunk(part, part.spec.id));
  const input = tf.input({ shape: [spec.inputSize, spec.inputSize, 3], dtype: 'float32' });
  const maps = trunks.map((t) => t.apply(input) as tf.SymbolicTensor);
  const joined = tf.layers.concatenate({ axis: -1, name: PAIR_LAYER }).apply(maps) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: joined, name: FEATURE_MODEL_LAYERS.trunk });
}

/** pixels 0-255 NHWC [N, size, size, 3] in (preprocessing inside), [N, featureSize] out. */
export async function loadFeatureModel(id: string, options: ResolveOptions = {}): Promise<tf.LayersModel> {
  return (await loadBackbone(id, options)).model;
}

/**
 * The untouched ImageNet model as published (for MobileNet V1: the 1000-class classifier), expecting
 * preprocessed input. Useful to check that weights and preprocessing are right.
 */
export async function loadImagenetModel(id: string, options: ResolveOptions = {}): Promise<{ spec: BackboneSpec; model: tf.LayersModel }> {
  const resolved = await resolveBackbone(id, options);
  if (resolved.parts) throw new Error(`${id} is a pair; load the ImageNet model of each part (${resolved.spec.parts!.join(', ')})`);
  return { spec: resolved.spec, model: await loadLayersModelFromFolder(resolved.dir) };
}

/**
 * Splits a feature model (fresh or fine-tuned and reloaded) at its heatmap layer, for Grad-CAM:
 * toConv: pixels -> conv activations; fromConv: conv activations -> features (differentiable, no weights).
 * Because features are the global average of the conv activations, head(fromConv(conv)) is the whole
 * classifier, and gradients with respect to conv need no gradients through the backbone.
 */
export function splitAtHeatmapLayer(model: tf.LayersModel): { toConv: tf.LayersModel; fromConv: (conv: tf.Tensor4D) => tf.Tensor2D } {
  const pool = model.getLayer(FEATURE_MODEL_LAYERS.pool);
  const conv = pool.input as tf.SymbolicTensor;
  return {
    toConv: tf.model({ inputs: model.inputs, outputs: conv }),
    fromConv: (t) => tf.mean(t, [1, 2]) as tf.Tensor2D,
  };
}

/** x * scale + offset, for code that feeds a trunk directly (the feature model does this itself). */
export function preprocess(pixels: tf.Tensor, spec: BackboneSpec = getBackbone('mobilenet_v2_035')): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(tf.cast(pixels, 'float32'), spec.preprocessing.scale), spec.preprocessing.offset));
}
