// A tf.LayersModel as an ExportGraph, one node per layer (nothing folded yet: fold.ts does that).
// The layer graph is walked from the outputs back; nested models are inlined; a layer called twice
// (a model applied to the photo and its mirror) becomes two sets of nodes that share weight arrays.
import type * as tf from '@tensorflow/tfjs';
import { samePads, UnsupportedLayerError, type ActivationFn, type ExportGraph, type FusedActivation, type GraphNode, type Pads, type Shape } from './types';

// What tfjs-layers keeps on symbolic tensors and layers, typed here because it is not exported.
interface InboundNode {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}
interface Container extends tf.layers.Layer {
  inputs: tf.SymbolicTensor[];
  outputs: tf.SymbolicTensor[];
}

type NewNode = GraphNode extends infer N ? (N extends GraphNode ? Omit<N, 'id' | 'name'> : never) : never;

class Builder {
  readonly nodes: GraphNode[] = [];
  private readonly names = new Set<string>();
  /** Weights read once per layer, so a layer used twice shares its arrays. */
  private readonly weights = new Map<tf.layers.Layer, { shape: number[]; data: Float32Array }[]>();

  add(hint: string, node: NewNode): number {
    const id = this.nodes.length;
    let name = hint.replace(/[^A-Za-z0-9_./-]/g, '_') || 'node';
    for (let i = 1; this.names.has(name); i++) name = `${hint}_${i}`;
    this.names.add(name);
    this.nodes.push({ ...node, id, name } as GraphNode);
    return id;
  }

  weightsOf(layer: tf.layers.Layer): { shape: number[]; data: Float32Array }[] {
    let w = this.weights.get(layer);
    if (!w) {
      w = layer.getWeights().map((t) => ({ shape: t.shape, data: new Float32Array(t.dataSync()) }));
      this.weights.set(layer, w);
    }
    return w;
  }

  shape(id: number): Shape {
    return this.nodes[id]!.shape;
  }
}

/** The model (one input, one output) as an unfolded graph. */
export function graphFromLayers(model: tf.LayersModel): ExportGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`Export needs a model with one input and one output; this one has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const b = new Builder();
  const input = b.add('input', { op: 'input', inputs: [], shape: model.inputs[0]!.shape });
  const [output] = walkContainer(b, model as unknown as Container, [input]);
  return { name: model.name, inputShape: model.inputs[0]!.shape, preprocessing: null, mirrorAverage: false, nodes: b.nodes, output: output! };
}

function walkContainer(b: Builder, container: Container, inputs: number[]): number[] {
  const known = new Map<number, number>();
  container.inputs.forEach((t, i) => known.set(t.id, inputs[i]!));
  const valueOf = (t: tf.SymbolicTensor): number => {
    const found = known.get(t.id);
    if (found !== undefined) return found;
    const layer = t.sourceLayer as tf.layers.Layer;
    const node = (layer as unknown as { inboundNodes: InboundNode[] }).inboundNodes[t.nodeIndex];
    if (!node || layer.getClassName() === 'InputLayer') throw new Error(`Layer "${layer.name}" is not connected to the model's input`);
    const args = node.inputTensors.map(valueOf);
    const outputs = walkLayer(b, layer, args, node.outputTensors.map((o) => o.shape));
    node.outputTensors.forEach((o, i) => known.set(o.id, outputs[i]!));
    return known.get(t.id)!;
  };
  return container.outputs.map(valueOf);
}

function walkLayer(b: Builder, layer: tf.layers.Layer, inputs: number[], outputShapes: Shape[]): number[] {
  const nested = layer as Container;
  if (Array.isArray(nested.inputs) && Array.isArray(nested.outputs) && 'layers' in nested) return walkContainer(b, nested, inputs);
  const convert = converters[layer.getClassName()];
  if (!convert) throw new UnsupportedLayerError(`layer "${layer.name}" (${layer.getClassName()})`, 'this layer type is not supported by the export writers', 'any export format');
  return [convert({ b, layer, config: layer.getConfig() as Record<string, unknown>, inputs, shape: outputShapes[0]! })];
}

interface Ctx {
  b: Builder;
  layer: tf.layers.Layer;
  config: Record<string, unknown>;
  inputs: number[];
  shape: Shape;
}
type Converter = (ctx: Ctx) => number;

const identity: Converter = ({ inputs }) => one(inputs);
const unsupported = (ctx: Ctx, why: string) => new UnsupportedLayerError(`layer "${ctx.layer.name}" (${ctx.layer.getClassName()})`, why, 'any export format');

const converters: Record<string, Converter> = {
  InputLayer: identity,
  Dropout: identity,
  SpatialDropout1D: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,

  ZeroPadding2D: (ctx) => {
    channelsLast(ctx);
    const [[top, bottom], [left, right]] = ctx.config.padding as [[number, number], [number, number]];
    return ctx.b.add(ctx.layer.name, { op: 'pad', inputs: [one(ctx.inputs)], shape: ctx.shape, pads: [top, left, bottom, right] });
  },

  Conv2D: (ctx) => {
    channelsLast(ctx);
    const [kernel, bias] = ctx.b.weightsOf(ctx.layer);
    const [kh, kw, cin, cout] = kernel!.shape as [number, number, number, number];
    // Keras [kh, kw, in, out] -> OHWI
    const filter = new Float32Array(kernel!.data.length);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++) filter[((o * kh + y) * kw + x) * cin + i] = kernel!.data[((y * kw + x) * cin + i) * cout + o]!;
    return convNode(ctx, { op: 'conv2d', filter, filterShape: [cout, kh, kw, cin], bias: bias?.data ?? new Float32Array(cout) }, [kh, kw]);
  },

  DepthwiseConv2D: (ctx) => {
    channelsLast(ctx);
    const [kernel, bias] = ctx.b.weightsOf(ctx.layer);
    const [kh, kw, cin, mult] = kernel!.shape as [number, number, number, number];
    // Keras [kh, kw, in, multiplier] is already [1, kh, kw, in*multiplier] in memory.
    return convNode(ctx, { op: 'depthwiseConv2d', filter: kernel!.data, filterShape: [1, kh, kw, cin * mult], multiplier: mult, bias: bias?.data ?? new Float32Array(cin * mult) }, [kh, kw]);
  },

  BatchNormalization: (ctx) => {
    const rank = ctx.b.shape(one(ctx.inputs)).length;
    const axis = Number(ctx.config.axis ?? -1);
    if (axis !== -1 && axis !== rank - 1) throw unsupported(ctx, `batch norm over axis ${axis} (only the channel axis is supported)`);
    const w = ctx.b.weightsOf(ctx.layer);
    let k = 0;
    const gamma = ctx.config.scale !== false ? w[k++]!.data : null;
    const beta = ctx.config.center !== false ? w[k++]!.data : null;
    const mean = w[k++]!.data;
    const variance = w[k++]!.data;
    const eps = Number(ctx.config.epsilon ?? 1e-3);
    // Inference-mode batch norm is one affine map per channel (computed in float64).
    const scale = new Float32Array(mean.length);
    const shift = new Float32Array(mean.length);
    for (let c = 0; c < mean.length; c++) {
      const s = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + eps);
      scale[c] = s;
      shift[c] = (beta ? beta[c]! : 0) - mean[c]! * s;
    }
    return ctx.b.add(ctx.layer.name, { op: 'affine', inputs: [one(ctx.inputs)], shape: ctx.shape, scale, shift });
  },

  Rescaling: (ctx) =>
    ctx.b.add(ctx.layer.name, { op: 'affine', inputs: [one(ctx.inputs)], shape: ctx.shape, scale: Float32Array.of(Number(ctx.config.scale)), shift: Float32Array.of(Number(ctx.config.offset ?? 0)) }),

  Activation: (ctx) => activation(ctx, one(ctx.inputs), String(ctx.config.activation)),

  ReLU: (ctx) => {
    const max = ctx.config.maxValue as number | null | undefined;
    if (max !== null && max !== undefined && max !== 6) throw unsupported(ctx, `ReLU capped at ${max} (only 6 is supported)`);
    return ctx.b.add(ctx.layer.name, { op: 'activation', inputs: [one(ctx.inputs)], shape: ctx.shape, fn: max === 6 ? 'relu6' : 'relu' });
  },

  LeakyReLU: (ctx) => ctx.b.add(ctx.layer.name, { op: 'activation', inputs: [one(ctx.inputs)], shape: ctx.shape, fn: 'leakyRelu', alpha: Number(ctx.config.alpha ?? 0.3) }),

  Add: (ctx) => elementwise(ctx, 'add'),
  Average: (ctx) => elementwise(ctx, 'mean'),
  Multiply: (ctx) => elementwise(ctx, 'mul'),
  Maximum: (ctx) => elementwise(ctx, 'max'),
  Minimum: (ctx) => elementwise(ctx, 'min'),

  Concatenate: (ctx) => {
    let axis = Number(ctx.config.axis ?? -1);
    if (axis < 0) axis += ctx.shape.length;
    return ctx.b.add(ctx.layer.name, { op: 'concat', inputs: ctx.inputs, shape: ctx.shape, axis });
  },

  Permute: (ctx) => ctx.b.add(ctx.layer.name, { op: 'transpose', inputs: [one(ctx.inputs)], shape: ctx.shape, perm: [0, ...(ctx.config.dims as number[])] }),

  GlobalAveragePooling2D: (ctx) => globalPool(ctx, 'avg'),
  GlobalMaxPooling2D: (ctx) => globalPool(ctx, 'max'),
  AveragePooling2D: (ctx) => pool(ctx, 'avg'),
  MaxPooling2D: (ctx) => pool(ctx, 'max'),

  Flatten: (ctx) => ctx.b.add(ctx.layer.name, { op: 'reshape', inputs: [one(ctx.inputs)], shape: ctx.shape }),
  Reshape: (ctx) => ctx.b.add(ctx.layer.name, { op: 'reshape', inputs: [one(ctx.inputs)], shape: ctx.shape }),

  Dense: (ctx) => {
    const input = one(ctx.inputs);
    const rank = ctx.b.shape(input).length;
    if (rank !== 2 && rank !== 4) throw unsupported(ctx, `dense on a rank-${rank} input (flatten it first)`);
    const [kernel, bias] = ctx.b.weightsOf(ctx.layer);
    const [cin, units] = kernel!.shape as [number, number];
    // Keras [in, out] -> [out, in]
    const weights = new Float32Array(kernel!.data.length);
    for (let i = 0; i < cin; i++) for (let o = 0; o < units; o++) weights[o * cin + i] = kernel!.data[i * units + o]!;
    const id = ctx.b.add(ctx.layer.name, { op: 'dense', inputs: [input], shape: ctx.shape, weights, weightsShape: [units, cin], bias: bias?.data ?? null, activation: 'linear' });
    return activation(ctx, id, String(ctx.config.activation ?? 'linear'));
  },
};

function one(inputs: number[]): number {
  if (inputs.length !== 1) throw new Error(`expected one input, got ${inputs.length}`);
  return inputs[0]!;
}

function channelsLast(ctx: Ctx): void {
  const format = ctx.config.dataFormat;
  if (format !== undefined && format !== 'channelsLast') throw unsupported(ctx, `data format ${String(format)}`);
}

function convNode(
  ctx: Ctx,
  weights: { op: 'conv2d'; filter: Float32Array; filterShape: [number, number, number, number]; bias: Float32Array } | { op: 'depthwiseConv2d'; filter: Float32Array; filterShape: [1, number, number, number]; multiplier: number; bias: Float32Array },
  kernel: [number, number],
): number {
  const input = one(ctx.inputs);
  const strides = ctx.config.strides as [number, number];
  const dilations = (ctx.config.dilationRate as [number, number] | undefined) ?? [1, 1];
  let pads: Pads = [0, 0, 0, 0];
  if (ctx.config.padding === 'same') {
    const [, h, w] = ctx.b.shape(input) as number[];
    const [top, bottom] = samePads(h!, kernel[0], strides[0], dilations[0]);
    const [left, right] = samePads(w!, kernel[1], strides[1], dilations[1]);
    pads = [top, left, bottom, right];
  } else if (ctx.config.padding !== 'valid') {
    throw unsupported(ctx, `padding "${String(ctx.config.padding)}"`);
  }
  const id = ctx.b.add(ctx.layer.name, { ...weights, inputs: [input], shape: ctx.shape, strides: [...strides], dilations: [...dilations], pads, activation: 'linear' } as NewNode);
  return activation(ctx, id, String(ctx.config.activation ?? 'linear'));
}

const ACTIVATIONS: Record<string, ActivationFn> = {
  relu: 'relu',
  relu6: 'relu6',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softmax: 'softmax',
  elu: 'elu',
  selu: 'selu',
  softplus: 'softplus',
  softsign: 'softsign',
  hardSigmoid: 'hardSigmoid',
  swish: 'swish',
};

function activation(ctx: Ctx, input: number, name: string): number {
  if (name === 'linear') return input;
  const fn = ACTIVATIONS[name];
  if (!fn) throw unsupported(ctx, `activation "${name}"`);
  return ctx.b.add(`${ctx.layer.name}/${name}`, { op: 'activation', inputs: [input], shape: ctx.shape, fn });
}

function elementwise(ctx: Ctx, op: 'add' | 'mul' | 'max' | 'min' | 'mean'): number {
  const ranks = new Set(ctx.inputs.map((i) => ctx.b.shape(i).length));
  if (ranks.size > 1) throw unsupported(ctx, 'inputs of different ranks');
  return ctx.b.add(ctx.layer.name, { op, inputs: ctx.inputs, shape: ctx.shape, activation: 'linear' as FusedActivation });
}

function globalPool(ctx: Ctx, kind: 'avg' | 'max'): number {
  channelsLast(ctx);
  return ctx.b.add(ctx.layer.name, { op: 'globalPool', inputs: [one(ctx.inputs)], shape: ctx.shape, kind, keepDims: ctx.config.keepDims === true });
}

function pool(ctx: Ctx, kind: 'avg' | 'max'): number {
  channelsLast(ctx);
  const input = one(ctx.inputs);
  const size = ctx.config.poolSize as [number, number];
  const strides = (ctx.config.strides as [number, number] | null) ?? size;
  let pads: Pads = [0, 0, 0, 0];
  if (ctx.config.padding === 'same') {
    const [, h, w] = ctx.b.shape(input) as number[];
    const [top, bottom] = samePads(h!, size[0], strides[0], 1);
    const [left, right] = samePads(w!, size[1], strides[1], 1);
    pads = [top, left, bottom, right];
  }
  return ctx.b.add(ctx.layer.name, { op: 'pool', inputs: [input], shape: ctx.shape, kind, size: [...size], strides: [...strides], pads });
}
