// The top of a backbone, above a cut inside it: the part top fine-tuning trains (from cached
// activations at the cut, so no photo is decoded and the frozen part never runs during an epoch).
// Its forward pass is written with plain tensor ops on the feature model's own weights (shared, so
// training them trains the model that is saved): above a 7x7 cut every convolution is 1x1 (a matrix
// product) or a 3x3 depthwise one at stride 1 (nine shifted products), and batch norm keeps its
// ImageNet statistics (an affine map). Those ops have fast gradients on the wasm backend, which has
// no convolution gradients, and the matrix products' gradients transpose first: wasm multiplies a
// transposed operand 10-18x slower than a plain one (measured here on [1568,112]x[112,1280]).
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../../shared/rpc';
import type { BackboneSpec } from '../backbones/catalog';
import { FEATURE_MODEL_LAYERS } from '../backbones/load';
import type { ComputeNeed } from '../compute';
import { modelToCut } from '../features/activations';

/**
 * Run the top with its own tfjs layers (on the 'convolutions' backend, wasm with Foldwise's convolution
 * gradients: 8.7-12 ms per photo for a step here) rather than the tensor-op formulation below (19-23 ms
 * on wasm, the way it ran before those gradients existed). The formulation stays as the reference the
 * tests compare with and for backends without convolution gradients.
 */
export const TOP_WITH_LAYERS = true;
/** The backend need that trains and runs the top: convolution gradients for its layers, or dense ones for the formulation. */
export const TOP_NEED: ComputeNeed = TOP_WITH_LAYERS ? 'convolutions' : 'head';

/** Where top fine-tuning cuts this backbone (BackboneSpec.topCut); a clear refusal for one it cannot cut. */
export function cutOf(spec: BackboneSpec): string {
  if (spec.topCut) return spec.topCut;
  throw new EngineError(
    'train/no-top',
    `Fine-tuning the last layers needs a single starting model, and ${spec.name} is two side by side. ` +
      'Choose MobileNet V2 (0.35) as the starting model to fine-tune its last layers, or fine-tune all of it, or none.',
    { backbone: spec.id },
  );
}

export interface TopOfBackbone {
  cut: string;
  /** Activations at the cut: [height, width, channels]. */
  shape: [number, number, number];
  /** Trainable weights above the cut (the feature model's own variables), earliest layer first. */
  variables: tf.Variable[];
  /** Batch-norm statistics above the cut (not trained, but moved by `features(x, { training: true })`). */
  statistics: tf.Variable[];
  /**
   * Cut activations [N, h, w, c] -> features [N, featureSize] (the global average of the last activations).
   * `training` (own layers only): batch norm normalizes with the batch's statistics and moves its
   * stored ones toward them, at each layer's momentum.
   */
  features(x: tf.Tensor4D, options?: { training?: boolean }): tf.Tensor2D;
  /** The top's batch-norm layers (their momentum sets how fast training moves the stored statistics). */
  batchNorms: tf.layers.Layer[];
  /** Pixels 0-255 -> cut activations, sharing the feature model's weights (never dispose it separately). */
  bottom: tf.LayersModel;
}

type Node = { inputTensors: tf.SymbolicTensor[]; outputTensors: tf.SymbolicTensor[] };
const nodeOf = (layer: tf.layers.Layer) => (layer as unknown as { inboundNodes: Node[] }).inboundNodes[0]!;

/** x @ w whose gradients multiply plain (explicitly transposed) operands: see the header. */
const matMul = tf.customGrad((x, w, save) => {
  (save as tf.GradSaveFunc)([x as tf.Tensor2D, w as tf.Tensor2D]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(b)), tf.matMul(tf.transpose(a), dy as tf.Tensor2D)];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

function conv1x1(x: tf.Tensor4D, kernel: tf.Tensor, bias: tf.Tensor | null): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const out = kernel.shape[3]!;
  let y: tf.Tensor = matMul(tf.reshape(x, [n * h * w, c]), tf.reshape(kernel, [c, out]));
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [n, h, w, out]);
}

function depthwise3x3(x: tf.Tensor4D, kernel: tf.Tensor, bias: tf.Tensor | null): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  let sum: tf.Tensor | null = null;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const tap = tf.mul(tf.slice(padded, [0, i, j, 0], [n, h, w, c]), tf.reshape(tf.slice(kernel, [i, j, 0, 0], [1, 1, c, 1]), [c]));
      sum = sum ? tf.add(sum, tap) : tap;
    }
  }
  return (bias ? tf.add(sum!, bias) : sum!) as tf.Tensor4D;
}

type LayerConfig = Record<string, unknown>;
const weightOf = (layer: tf.layers.Layer, suffix: string): tf.Tensor | null => layer.weights.find((w) => w.originalName.endsWith(suffix))?.read() ?? null;

/** Batch norm as y = x * scale + shift, with its ImageNet statistics (as at inference: one folder's photos are too few to re-estimate them). */
function batchNorm(layer: tf.layers.Layer): { scale: tf.Tensor; shift: tf.Tensor } {
  const epsilon = (layer.getConfig() as LayerConfig).epsilon as number;
  const scale = tf.mul(weightOf(layer, 'gamma') ?? 1, tf.rsqrt(tf.add(weightOf(layer, 'moving_variance')!, epsilon)));
  return { scale, shift: tf.sub(weightOf(layer, 'beta') ?? 0, tf.mul(weightOf(layer, 'moving_mean')!, scale)) };
}

/**
 * A convolution and the batch norm right after it as one: the norm's scale folded into the (small)
 * kernel and its shift into the bias, so no per-pixel multiply and no per-pixel gradient sum for it
 * (those were a fifth of a training step). Gradients still reach the kernel, gamma and beta.
 */
function convThenNorm(conv: tf.layers.Layer, norm: tf.layers.Layer, x: tf.Tensor4D): tf.Tensor {
  const { scale, shift } = batchNorm(norm);
  const config = conv.getConfig() as LayerConfig;
  const bias = config.useBias ? weightOf(conv, 'bias') : null;
  const folded = bias ? tf.add(tf.mul(bias, scale), shift) : shift;
  if (conv.getClassName() === 'Conv2D') return conv1x1(x, tf.mul(weightOf(conv, 'kernel')!, scale), folded);
  const k = weightOf(conv, 'depthwise_kernel')!;
  return depthwise3x3(x, tf.mul(k, tf.reshape(scale, [1, 1, k.shape[2]!, 1])), folded);
}

/** Whether `norm` can fold into `conv` (see convThenNorm): a linear convolution of the shapes applyLayer runs, feeding only it. */
function folds(conv: tf.layers.Layer, norm: tf.layers.Layer | undefined): norm is tf.layers.Layer {
  if (!norm || norm.getClassName() !== 'BatchNormalization' || nodeOf(norm).inputTensors[0] !== nodeOf(conv).outputTensors[0]) return false;
  const config = conv.getConfig() as LayerConfig;
  const linear = !config.activation || config.activation === 'linear';
  const k = weightOf(conv, conv.getClassName() === 'Conv2D' ? 'kernel' : 'depthwise_kernel');
  const stride1 = (config.strides as number[] | undefined)?.every((v) => v === 1) ?? true;
  if (!linear || !k || !stride1) return false;
  if (conv.getClassName() === 'Conv2D') return k.shape[0] === 1 && k.shape[1] === 1;
  return conv.getClassName() === 'DepthwiseConv2D' && k.shape[0] === 3 && k.shape[1] === 3 && k.shape[3] === 1 && config.padding === 'same';
}

/** One layer of the top as tensor ops; throws for anything a 7x7 MobileNet top does not contain. */
function applyLayer(layer: tf.layers.Layer, inputs: tf.Tensor[]): tf.Tensor {
  const x = inputs[0] as tf.Tensor4D;
  const config = layer.getConfig() as LayerConfig;
  const kind = layer.getClassName();
  const unsupported = () => new Error(`Top fine-tuning cannot train ${kind} layer ${layer.name} (${JSON.stringify(config.kernelSize ?? '')} stride ${JSON.stringify(config.strides ?? '')}); cut the backbone higher.`);
  const activation = (y: tf.Tensor) => {
    const a = config.activation as string | undefined;
    if (!a || a === 'linear') return y;
    if (a === 'relu') return tf.relu(y);
    if (a === 'relu6') return tf.clipByValue(y, 0, 6);
    throw unsupported();
  };
  const stride1 = (config.strides as number[] | undefined)?.every((s) => s === 1) ?? true;
  const bias = config.useBias ? weightOf(layer, 'bias') : null;
  switch (kind) {
    case 'Conv2D': {
      const k = weightOf(layer, 'kernel')!;
      if (k.shape[0] !== 1 || k.shape[1] !== 1 || !stride1) throw unsupported();
      return activation(conv1x1(x, k, bias));
    }
    case 'DepthwiseConv2D': {
      const k = weightOf(layer, 'depthwise_kernel')!;
      if (k.shape[0] !== 3 || k.shape[1] !== 3 || k.shape[3] !== 1 || !stride1 || config.padding !== 'same') throw unsupported();
      return activation(depthwise3x3(x, k, bias));
    }
    case 'BatchNormalization': {
      const { scale, shift } = batchNorm(layer);
      return tf.add(tf.mul(x, scale), shift);
    }
    case 'ReLU': {
      const max = config.maxValue as number | null | undefined;
      return max == null ? tf.relu(x) : tf.clipByValue(x, 0, max);
    }
    case 'Activation':
      return activation(x);
    case 'Add':
      return inputs.reduce((a, b) => tf.add(a, b));
    default:
      throw unsupported();
  }
}

/** The top of `model` (a Foldwise feature model) above `cut`, sharing its weights. */
export function topOfBackbone(model: tf.LayersModel, cut: string, { withLayers = TOP_WITH_LAYERS } = {}): TopOfBackbone {
  const trunk = model.getLayer(FEATURE_MODEL_LAYERS.trunk) as unknown as tf.LayersModel;
  const names = trunk.layers.map((l) => l.name);
  const at = names.indexOf(cut);
  if (at < 0) throw new Error(`The backbone has no layer named ${cut} to cut at.`);
  const layers = trunk.layers.slice(at + 1);
  const cutTensor = trunk.getLayer(cut).output as tf.SymbolicTensor;
  const last = trunk.outputs[0]!;
  const [, h, w, c] = cutTensor.shape as number[];
  // Built before anything reads inboundNodes[0] below: re-applying adds nodes after the original ones.
  const layersTop = layersAbove(layers, cutTensor, last);
  return {
    cut,
    shape: [h!, w!, c!],
    variables: layers.flatMap((l) => l.trainableWeights.map((v) => v.read() as tf.Variable)),
    statistics: layers.flatMap((l) => l.nonTrainableWeights.map((v) => v.read() as tf.Variable)),
    batchNorms: layers.filter((l) => l.getClassName() === 'BatchNormalization'),
    bottom: modelToCut(model, cut),
    features: withLayers ? (x, options) => tf.mean(layersTop.apply(x, { training: options?.training ?? false }) as tf.Tensor, [1, 2]) as tf.Tensor2D : (x, options) => {
      if (options?.training) throw new Error('The tensor-op top keeps batch-norm statistics frozen; run the top with its own layers to update them.');
      const values = new Map<number, tf.Tensor>([[cutTensor.id, x]]);
      for (let i = 0; i < layers.length; i++) {
        const layer = layers[i]!;
        const node = nodeOf(layer);
        const inputs = node.inputTensors.map((t) => values.get(t.id)!);
        const next = layers[i + 1];
        if (folds(layer, next)) {
          values.set(nodeOf(next).outputTensors[0]!.id, convThenNorm(layer, next, inputs[0] as tf.Tensor4D));
          i++;
        } else {
          values.set(node.outputTensors[0]!.id, applyLayer(layer, inputs));
        }
      }
      return tf.mean(values.get(last.id)!, [1, 2]) as tf.Tensor2D;
    },
  };
}

/** The layers above the cut re-applied to a new input: a model of its own that shares their weights. */
function layersAbove(layers: tf.layers.Layer[], cutTensor: tf.SymbolicTensor, last: tf.SymbolicTensor): tf.LayersModel {
  const input = tf.input({ shape: cutTensor.shape.slice(1) as number[] });
  const values = new Map<number, tf.SymbolicTensor>([[cutTensor.id, input]]);
  for (const layer of layers) {
    const node = nodeOf(layer);
    const inputs = node.inputTensors.map((t) => values.get(t.id)!);
    values.set(node.outputTensors[0]!.id, layer.apply(inputs.length === 1 ? inputs[0]! : inputs) as tf.SymbolicTensor);
  }
  return tf.model({ inputs: input, outputs: values.get(last.id)! });
}
