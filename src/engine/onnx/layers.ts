// One converter per Keras layer class found in MobileNet-style models and small heads.
// Each takes the layer, its input values and the Keras shapes of its outputs, and returns output values.
import type * as tf from '@tensorflow/tfjs';
import type { OnnxGraph } from './graph';
import { materialize, tensor, type PendingConv, type Shape, type Value } from './values';

export interface LayerContext {
  g: OnnxGraph;
  layer: tf.layers.Layer;
  config: Record<string, unknown>;
  inputs: Value[];
  outputShapes: Shape[];
  hint: string;
}

type Converter = (ctx: LayerContext) => Value[];

export class UnsupportedLayerError extends Error {
  constructor(layer: tf.layers.Layer, why: string) {
    super(`Cannot write layer "${layer.name}" (${layer.getClassName()}) to ONNX: ${why}`);
    this.name = 'export/unsupported-layer';
  }
}

const identity: Converter = ({ inputs }) => [one(inputs)];

export const converters: Record<string, Converter> = {
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
    return [{ kind: 'pad', input: one(ctx.inputs), pads: [top, left, bottom, right], shape: ctx.outputShapes[0]! }];
  },

  Conv2D: (ctx) => {
    channelsLast(ctx);
    const [kernel, bias] = weightsOf(ctx.layer);
    const [kh, kw, cin, cout] = kernel!.shape as [number, number, number, number];
    // Keras [kH, kW, in, out] -> ONNX [out, in, kH, kW]
    const weight = new Float64Array(cout * cin * kh * kw);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++) weight[((o * cin + i) * kh + y) * kw + x] = kernel!.data[((y * kw + x) * cin + i) * cout + o]!;
    return [activate(ctx, conv(ctx, weight, [cout, cin, kh, kw], bias?.data ?? new Float64Array(cout), 1))];
  },

  DepthwiseConv2D: (ctx) => {
    channelsLast(ctx);
    const [kernel, bias] = weightsOf(ctx.layer);
    const [kh, kw, cin, mult] = kernel!.shape as [number, number, number, number];
    // Keras [kH, kW, in, multiplier]; output channel c*multiplier+m -> ONNX grouped Conv [in*mult, 1, kH, kW]
    const weight = new Float64Array(cin * mult * kh * kw);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let c = 0; c < cin; c++)
          for (let m = 0; m < mult; m++) weight[((c * mult + m) * kh + y) * kw + x] = kernel!.data[((y * kw + x) * cin + c) * mult + m]!;
    return [activate(ctx, conv(ctx, weight, [cin * mult, 1, kh, kw], bias?.data ?? new Float64Array(cin * mult), cin))];
  },

  BatchNormalization: (ctx) => {
    const input = one(ctx.inputs);
    const rank = input.shape.length;
    const axis = Number(ctx.config.axis ?? -1);
    if (axis !== -1 && axis !== rank - 1) throw new UnsupportedLayerError(ctx.layer, `batch norm over axis ${axis} (only the channel axis is supported)`);
    const { scale, shift } = batchNormAffine(ctx);
    if (input.kind === 'conv' && !input.emitted) return [foldIntoConv(input, scale, shift, ctx.hint)];
    // Standalone batch norm: x*scale+shift with the channel axis where ONNX has it.
    const dims = rank === 4 ? [scale.length, 1, 1] : [scale.length];
    const x = materialize(ctx.g, input);
    const mul = ctx.g.node('Mul', [x, ctx.g.floats(`${ctx.hint}/scale`, scale, dims)], ctx.hint);
    return [tensor(ctx.g.node('Add', [mul, ctx.g.floats(`${ctx.hint}/shift`, shift, dims)], ctx.hint), ctx.outputShapes[0]!)];
  },

  Activation: (ctx) => [activate(ctx, one(ctx.inputs), String(ctx.config.activation))],

  ReLU: (ctx) => {
    const max = ctx.config.maxValue as number | null | undefined;
    const x = materialize(ctx.g, one(ctx.inputs));
    if (max === null || max === undefined) return [tensor(ctx.g.node('Relu', [x], ctx.hint), ctx.outputShapes[0]!)];
    return [tensor(clip(ctx.g, x, 0, max, ctx.hint), ctx.outputShapes[0]!)];
  },

  LeakyReLU: (ctx) => {
    const x = materialize(ctx.g, one(ctx.inputs));
    return [tensor(ctx.g.node('LeakyRelu', [x], ctx.hint, { alpha: { float: Number(ctx.config.alpha ?? 0.3) } }), ctx.outputShapes[0]!)];
  },

  Add: (ctx) => [tensor(chain(ctx, 'Add'), ctx.outputShapes[0]!)],
  Average: (ctx) => {
    const sum = chain(ctx, 'Add');
    return [tensor(ctx.g.node('Mul', [sum, ctx.g.floats(`${ctx.hint}/share`, [1 / ctx.inputs.length], [])], ctx.hint), ctx.outputShapes[0]!)];
  },

  Permute: (ctx) => {
    const input = one(ctx.inputs);
    const dims = ctx.config.dims as number[];
    if (input.shape.length !== 4) {
      return [tensor(ctx.g.node('Transpose', [materialize(ctx.g, input)], ctx.hint, { perm: [0, ...dims] }), ctx.outputShapes[0]!)];
    }
    // Rank 4 is stored as Keras axes [0, 3, 1, 2]; output Keras axis i is input axis p[i].
    const p = [0, ...dims];
    const stored = (kerasAxis: number) => [0, 2, 3, 1][kerasAxis]!;
    const perm = [p[0]!, p[3]!, p[1]!, p[2]!].map(stored);
    return [tensor(ctx.g.node('Transpose', [materialize(ctx.g, input)], ctx.hint, { perm }), ctx.outputShapes[0]!)];
  },
  Multiply: (ctx) => [tensor(chain(ctx, 'Mul'), ctx.outputShapes[0]!)],
  Maximum: (ctx) => [tensor(chain(ctx, 'Max'), ctx.outputShapes[0]!)],
  Minimum: (ctx) => [tensor(chain(ctx, 'Min'), ctx.outputShapes[0]!)],

  Concatenate: (ctx) => {
    const rank = ctx.outputShapes[0]!.length;
    let axis = Number(ctx.config.axis ?? -1);
    if (axis < 0) axis += rank;
    if (rank === 4) axis = [0, 2, 3, 1][axis]!; // NHWC axis -> NCHW axis
    const names = ctx.inputs.map((v) => materialize(ctx.g, v));
    return [tensor(ctx.g.node('Concat', names, ctx.hint, { axis }), ctx.outputShapes[0]!)];
  },

  GlobalAveragePooling2D: (ctx) => globalPool(ctx, 'GlobalAveragePool'),
  GlobalMaxPooling2D: (ctx) => globalPool(ctx, 'GlobalMaxPool'),
  AveragePooling2D: (ctx) => pool(ctx, 'AveragePool'),
  MaxPooling2D: (ctx) => pool(ctx, 'MaxPool'),

  Flatten: (ctx) => {
    const x = kerasOrder(ctx.g, one(ctx.inputs), ctx.hint);
    return [tensor(ctx.g.node('Flatten', [x], ctx.hint, { axis: 1 }), ctx.outputShapes[0]!)];
  },

  Reshape: (ctx) => {
    const out = ctx.outputShapes[0]!;
    const x = kerasOrder(ctx.g, one(ctx.inputs), ctx.hint);
    const target = out.slice(1) as number[];
    if (out.length === 4 && out[1] === 1 && out[2] === 1) {
      // [N,1,1,C] and [N,C,1,1] have the same memory order: one Reshape suffices.
      return [tensor(ctx.g.node('Reshape', [x, ctx.g.ints('shape', [0, out[3]!, 1, 1])], ctx.hint), out)];
    }
    const reshaped = ctx.g.node('Reshape', [x, ctx.g.ints('shape', [0, ...target])], ctx.hint);
    if (out.length !== 4) return [tensor(reshaped, out)];
    return [tensor(ctx.g.node('Transpose', [reshaped], `${ctx.hint}/to_nchw`, { perm: [0, 3, 1, 2] }), out)];
  },

  Dense: (ctx) => {
    const input = one(ctx.inputs);
    if (input.shape.length === 4) return [activate(ctx, denseOverChannels(ctx, input))];
    if (input.shape.length !== 2) throw new UnsupportedLayerError(ctx.layer, `dense on a rank-${input.shape.length} input (flatten it first)`);
    const [kernel, bias] = weightsOf(ctx.layer);
    const [, units] = kernel!.shape;
    const inputs = [materialize(ctx.g, input), ctx.g.floats(`${ctx.hint}/kernel`, kernel!.data, kernel!.shape)];
    if (bias) inputs.push(ctx.g.floats(`${ctx.hint}/bias`, bias.data, [units!]));
    // Keras kernels are [in, out]: exactly Gemm's B without a transpose.
    return [activate(ctx, tensor(ctx.g.node('Gemm', inputs, ctx.hint), ctx.outputShapes[0]!))];
  },

  Rescaling: (ctx) => [tensor(scaleAndOffset(ctx.g, materialize(ctx.g, one(ctx.inputs)), Number(ctx.config.scale), Number(ctx.config.offset ?? 0), ctx.hint), ctx.outputShapes[0]!)],
};

/** Dense on an image-shaped input acts on the channel axis, which ONNX stores at axis 1: a 1x1 convolution. */
function denseOverChannels(ctx: LayerContext, input: Value): Value {
  const [kernel, bias] = weightsOf(ctx.layer);
  const [cin, units] = kernel!.shape as [number, number];
  const weight = new Float64Array(units * cin);
  for (let i = 0; i < cin; i++) for (let o = 0; o < units; o++) weight[o * cin + i] = kernel!.data[i * units + o]!;
  return {
    kind: 'conv',
    input: materialize(ctx.g, input),
    hint: ctx.hint,
    weight,
    weightDims: [units, cin, 1, 1],
    bias: bias?.data ?? new Float64Array(units),
    attributes: { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 },
    shape: ctx.outputShapes[0]!,
  };
}

/** x*scale+offset with scalar constants, the way Keras Rescaling and the backbones' preprocessing do it. */
export function scaleAndOffset(g: OnnxGraph, x: string, scale: number, offset: number, hint: string): string {
  const scaled = g.node('Mul', [x, g.floats(`${hint}/scale`, [scale], [])], hint);
  return offset === 0 ? scaled : g.node('Add', [scaled, g.floats(`${hint}/offset`, [offset], [])], hint);
}

function one(inputs: Value[]): Value {
  if (inputs.length !== 1) throw new Error(`expected one input, got ${inputs.length}`);
  return inputs[0]!;
}

function channelsLast(ctx: LayerContext): void {
  const format = ctx.config.dataFormat;
  if (format !== undefined && format !== 'channelsLast') throw new UnsupportedLayerError(ctx.layer, `data format ${String(format)}`);
}

interface Weight {
  shape: number[];
  data: Float64Array;
}

function weightsOf(layer: tf.layers.Layer): Weight[] {
  return layer.getWeights().map((w) => ({ shape: w.shape, data: Float64Array.from(w.dataSync()) }));
}

/** TF 'same' padding: the extra pixel goes at the end (bottom/right), which ONNX auto_pad cannot express reliably. */
function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function conv(ctx: LayerContext, weight: Float64Array, weightDims: number[], bias: Float64Array, group: number): PendingConv {
  let input = one(ctx.inputs);
  const [kh, kw] = weightDims.slice(2) as [number, number];
  const strides = ctx.config.strides as [number, number];
  const dilations = (ctx.config.dilationRate as [number, number] | undefined) ?? [1, 1];
  // pads: top, left, bottom, right
  let pads = [0, 0, 0, 0];
  if (input.kind === 'pad' && !input.emitted) {
    pads = [...input.pads];
    input = input.input;
  }
  if (ctx.config.padding === 'same') {
    const [, h, w] = one(ctx.inputs).shape as number[];
    const [top, bottom] = samePads(h!, kh, strides[0], dilations[0]);
    const [left, right] = samePads(w!, kw, strides[1], dilations[1]);
    pads = [pads[0]! + top, pads[1]! + left, pads[2]! + bottom, pads[3]! + right];
  } else if (ctx.config.padding !== 'valid') {
    throw new UnsupportedLayerError(ctx.layer, `padding "${String(ctx.config.padding)}"`);
  }
  return {
    kind: 'conv',
    input: materialize(ctx.g, input),
    hint: ctx.hint,
    weight,
    weightDims,
    bias: Float64Array.from(bias),
    attributes: { kernel_shape: [kh, kw], strides: [...strides], pads, dilations: [...dilations], group },
    shape: ctx.outputShapes[0]!,
  };
}

/** Batch norm in inference mode as one affine map per channel, computed in float64. */
function batchNormAffine(ctx: LayerContext): { scale: Float64Array; shift: Float64Array } {
  const weights = weightsOf(ctx.layer);
  const useScale = ctx.config.scale !== false;
  const useCenter = ctx.config.center !== false;
  let k = 0;
  const gamma = useScale ? weights[k++]!.data : null;
  const beta = useCenter ? weights[k++]!.data : null;
  const mean = weights[k++]!.data;
  const variance = weights[k++]!.data;
  const eps = Number(ctx.config.epsilon ?? 1e-3);
  const scale = new Float64Array(mean.length);
  const shift = new Float64Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    scale[c] = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + eps);
    shift[c] = (beta ? beta[c]! : 0) - mean[c]! * scale[c]!;
  }
  return { scale, shift };
}

function foldIntoConv(c: PendingConv, scale: Float64Array, shift: Float64Array, hint: string): PendingConv {
  const outChannels = c.weightDims[0]!;
  const perChannel = c.weight.length / outChannels;
  const weight = new Float64Array(c.weight.length);
  const bias = new Float64Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    for (let j = 0; j < perChannel; j++) weight[o * perChannel + j] = c.weight[o * perChannel + j]! * scale[o]!;
    bias[o] = c.bias[o]! * scale[o]! + shift[o]!;
  }
  return { ...c, hint, weight, bias, emitted: undefined };
}

function activate(ctx: LayerContext, v: Value, name = String(ctx.config.activation ?? 'linear')): Value {
  if (name === 'linear') return v;
  const { g, hint } = ctx;
  const x = materialize(g, v);
  const shape = ctx.outputShapes[0]!;
  const rank = shape.length;
  const simple: Record<string, string> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', elu: 'Elu', selu: 'Selu', softplus: 'Softplus', softsign: 'Softsign' };
  if (simple[name]) return tensor(g.node(simple[name], [x], hint), shape);
  switch (name) {
    case 'relu6':
      return tensor(clip(g, x, 0, 6, hint), shape);
    case 'softmax':
      // Keras takes softmax over the last (channel) axis, which is axis 1 of an NCHW tensor.
      return tensor(g.node('Softmax', [x], hint, { axis: rank === 4 ? 1 : -1 }), shape);
    case 'hardSigmoid':
      return tensor(g.node('HardSigmoid', [x], hint, { alpha: { float: 0.2 }, beta: { float: 0.5 } }), shape);
    case 'swish':
      return tensor(g.node('Mul', [x, g.node('Sigmoid', [x], hint)], hint), shape);
    default:
      throw new UnsupportedLayerError(ctx.layer, `activation "${name}"`);
  }
}

function clip(g: OnnxGraph, x: string, min: number, max: number, hint: string): string {
  // Opset 13 Clip takes its bounds as inputs, not attributes.
  return g.node('Clip', [x, g.floats('clip_min', [min], []), g.floats('clip_max', [max], [])], hint);
}

function chain(ctx: LayerContext, op: string): string {
  const names = ctx.inputs.map((v) => materialize(ctx.g, v));
  const ranks = new Set(ctx.inputs.map((v) => v.shape.length));
  if (ranks.size > 1) throw new UnsupportedLayerError(ctx.layer, 'inputs of different ranks');
  return names.slice(1).reduce((acc, name) => ctx.g.node(op, [acc, name], ctx.hint), names[0]!);
}

function globalPool(ctx: LayerContext, op: string): Value[] {
  channelsLast(ctx);
  const pooled = ctx.g.node(op, [materialize(ctx.g, one(ctx.inputs))], ctx.hint);
  if (ctx.config.keepDims === true) return [tensor(pooled, ctx.outputShapes[0]!)];
  return [tensor(ctx.g.node('Flatten', [pooled], ctx.hint, { axis: 1 }), ctx.outputShapes[0]!)];
}

function pool(ctx: LayerContext, op: string): Value[] {
  channelsLast(ctx);
  const input = one(ctx.inputs);
  const size = ctx.config.poolSize as [number, number];
  const strides = (ctx.config.strides as [number, number] | null) ?? size;
  let pads = [0, 0, 0, 0];
  if (ctx.config.padding === 'same') {
    const [, h, w] = input.shape as number[];
    const [top, bottom] = samePads(h!, size[0], strides[0], 1);
    const [left, right] = samePads(w!, size[1], strides[1], 1);
    pads = [top, left, bottom, right];
  }
  // TF's 'same' average pooling divides by the pixels inside the image only: count_include_pad=0.
  const attributes = { kernel_shape: [...size], strides: [...strides], pads, ...(op === 'AveragePool' ? { count_include_pad: 0 } : {}) };
  return [tensor(ctx.g.node(op, [materialize(ctx.g, input)], ctx.hint, attributes), ctx.outputShapes[0]!)];
}

/** The tensor in Keras memory order (NHWC for rank 4); 1x1 spatial needs no transpose. */
function kerasOrder(g: OnnxGraph, v: Value, hint: string): string {
  const x = materialize(g, v);
  if (v.shape.length !== 4 || (v.shape[1] === 1 && v.shape[2] === 1)) return x;
  return g.node('Transpose', [x], `${hint}/to_nhwc`, { perm: [0, 2, 3, 1] });
}
