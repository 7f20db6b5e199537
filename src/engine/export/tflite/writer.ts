// Writes an ExportGraph as a TFLite flatbuffer (schema: ../shared/formats/tflite/schema.fbs, code
// generated into ./generated). Batch 1, as MediaPipe and the Android samples expect: input
// [1, size, size, 3] RGB 0-255 float32, output [1, classes] probabilities.
//   - weights float32, or float16 stored as FLOAT16 tensors each read through one DEQUANTIZE op
//     (what TensorFlow's float16 quantization writes; XNNPACK folds the pair back into its weights).
//     Biases and depthwise filters stay float32: batch norms folded into them make some values large;
//     in float16 they moved the default backbone's probabilities by up to 3.8e-2 (2.2e-2 with float32
//     biases), and they are a few % of the bytes;
//   - weight buffers aligned to 16 bytes (the schema's force_align, which the generated builder skips);
//   - both deprecated_builtin_code (min(code, 127)) and builtin_code set: older runtimes read only the first.
// The preprocessing is inside the model (MUL, ADD), so the file takes the same pixels as the ONNX
// and TF.js exports; the mirror average is REVERSE_V2 + the body again (sharing weights) + mean.
import * as flatbuffers from 'flatbuffers';
import { paddingMode, UnsupportedLayerError, type ExportGraph, type FusedActivation, type GraphNode } from '../graph';
import {
  ActivationFunctionType,
  AddOptions,
  Buffer,
  BuiltinOperator,
  BuiltinOptions,
  ConcatenationOptions,
  Conv2DOptions,
  DepthwiseConv2DOptions,
  DequantizeOptions,
  FullyConnectedOptions,
  FullyConnectedOptionsWeightsFormat,
  LeakyReluOptions,
  MaximumMinimumOptions,
  Metadata,
  Model,
  MulOptions,
  Operator,
  OperatorCode,
  Padding,
  PadOptions,
  Pool2DOptions,
  QuantizationParameters,
  ReducerOptions,
  ReshapeOptions,
  ReverseV2Options,
  SoftmaxOptions,
  SubGraph,
  Tensor,
  TensorType,
  TransposeOptions,
} from './generated/schema_generated';
import { float16Bits } from './float16';
import { quantizeWeights, runsInt8, type Int8Plan, type QuantParams } from './quantize';

export interface TfliteWriteOptions {
  /**
   * How constant weights are stored. 'int8': the body's planned values run in int8 too (quantize.ts),
   * with `int8` the params measured on calibration photos.
   */
  weights: 'float32' | 'float16' | 'int8';
  int8?: Int8Plan;
  inputName?: string;
  outputName?: string;
  description?: string;
  /** A finished ModelMetadata flatbuffer ("M001"), stored as the TFLITE_METADATA entry. */
  metadata?: Uint8Array;
}

type Options = { type: BuiltinOptions; build: (b: flatbuffers.Builder) => flatbuffers.Offset };
interface TensorSpec {
  name: string;
  shape: number[];
  type: TensorType;
  buffer: number;
  /** int8 and int32 tensors: real = scale * (q - zeroPoint), per slice along `dimension` when several. */
  quantization?: { scales: number[]; zeroPoints: number[]; dimension: number };
}
interface OperatorSpec {
  code: BuiltinOperator;
  version: number;
  inputs: number[];
  outputs: number[];
  options?: Options;
}

/** The TFLite runtime version that runs every op this writer uses (DEQUANTIZE of float16 came with 2.3). */
const MIN_RUNTIME_VERSION = '2.3.0';

class TfliteBuilder {
  readonly tensors: TensorSpec[] = [];
  /** Buffer 0 is the empty sentinel every tensor without data points at. */
  readonly buffers: (Uint8Array | null)[] = [null];
  readonly operators: OperatorSpec[] = [];
  private readonly consts = new Map<Float32Array, Map<string, number>>();
  private readonly names = new Set<string>();

  constructor(readonly float16: boolean) {}

  private unique(hint: string): string {
    let name = hint;
    for (let i = 1; this.names.has(name); i++) name = `${hint}_${i}`;
    this.names.add(name);
    return name;
  }

  /** A float32 value computed by an op; int8 when given its params. */
  value(name: string, shape: number[], q?: QuantParams): number {
    const quantization = q && { scales: [q.scale], zeroPoints: [q.zeroPoint], dimension: 0 };
    this.tensors.push({ name: this.unique(name), shape, type: q ? TensorType.INT8 : TensorType.FLOAT32, buffer: 0, quantization });
    return this.tensors.length - 1;
  }

  private constant(name: string, shape: number[], type: TensorType, bytes: Uint8Array, quantization?: TensorSpec['quantization']): number {
    this.buffers.push(bytes);
    this.tensors.push({ name: this.unique(name), shape, type, buffer: this.buffers.length - 1, quantization });
    return this.tensors.length - 1;
  }

  private readonly int8Consts = new Map<Float32Array, { weights: number; bias: number }>();

  /**
   * Int8 weights with one scale per slice along `axis`, and their int32 bias at input scale x weight
   * scale; once per filter (the mirror's body shares them, its input having the same params).
   */
  int8Weights(name: string, data: Float32Array, shape: number[], axis: number, bias: Float32Array, inputScale: number): { weights: number; bias: number } {
    const known = this.int8Consts.get(data);
    if (known) return known;
    const { values, scales } = quantizeWeights(data, shape, axis);
    const zeros = scales.map(() => 0);
    const biasScales = scales.map((s) => s * inputScale);
    const biasValues = Int32Array.from(bias, (b, c) => Math.round(b / biasScales[c]!));
    const made = {
      weights: this.constant(`${name}/filter`, shape, TensorType.INT8, new Uint8Array(values.buffer), { scales, zeroPoints: zeros, dimension: axis }),
      bias: this.constant(`${name}/bias`, [bias.length], TensorType.INT32, new Uint8Array(biasValues.buffer), { scales: biasScales, zeroPoints: zeros, dimension: 0 }),
    };
    this.int8Consts.set(data, made);
    return made;
  }

  /** Float weights, once per (array, shape); float16 ones are read through a DEQUANTIZE op to float32. */
  floats(name: string, data: Float32Array, shape: number[], weight = true): number {
    const key = shape.join(',');
    const known = this.consts.get(data)?.get(key);
    if (known !== undefined) return known;
    let id: number;
    if (this.float16 && weight) {
      const half = this.constant(`${name}_float16`, shape, TensorType.FLOAT16, new Uint8Array(float16Bits(data).buffer));
      id = this.value(name, shape);
      this.op(BuiltinOperator.DEQUANTIZE, [half], [id], { type: BuiltinOptions.DequantizeOptions, build: (b) => DequantizeOptions.createDequantizeOptions(b) }, 3);
    } else {
      id = this.constant(name, shape, TensorType.FLOAT32, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    if (!this.consts.has(data)) this.consts.set(data, new Map());
    this.consts.get(data)!.set(key, id);
    return id;
  }

  ints(name: string, data: number[], shape = [data.length]): number {
    return this.constant(name, shape, TensorType.INT32, new Uint8Array(Int32Array.from(data).buffer));
  }

  op(code: BuiltinOperator, inputs: number[], outputs: number[], options?: Options, version = 1): void {
    this.operators.push({ code, version, inputs, outputs, options });
  }
}

/** The graph as the bytes of a .tflite file. */
export function graphToTflite(graph: ExportGraph, opts: TfliteWriteOptions): Uint8Array {
  if (graph.inputShape.length !== 4) throw new UnsupportedLayerError('a model without an image input', 'TFLite export takes images [1, height, width, 3]', 'TFLite');
  const t = new TfliteBuilder(opts.weights === 'float16');
  const plan = opts.weights === 'int8' ? opts.int8 : undefined;
  if (opts.weights === 'int8' && !plan) throw new Error('An 8-bit TFLite file needs the calibration plan (quantize.ts)');
  const body = (t: TfliteBuilder, graph: ExportGraph, x: number, prefix: string) => (plan ? int8Body(t, graph, x, prefix, plan) : floatBody(t, graph, x, prefix));
  const batch1 = (shape: (number | null)[]) => shape.map((d) => d ?? 1);
  const input = t.value(opts.inputName ?? 'pixels', batch1(graph.inputShape));
  let x = input;
  if (graph.preprocessing) {
    const { scale, offset } = graph.preprocessing;
    const scaled = t.value('preprocess/scaled', batch1(graph.inputShape));
    t.op(BuiltinOperator.MUL, [x, t.floats('preprocess/scale', Float32Array.of(scale), [], false)], [scaled], mulOptions('linear'));
    x = t.value('preprocess', batch1(graph.inputShape));
    t.op(BuiltinOperator.ADD, [scaled, t.floats('preprocess/offset', Float32Array.of(offset), [], false)], [x], addOptions('linear'));
  }
  let y: number;
  if (graph.mirrorAverage) {
    const mirrored = t.value('mirror', batch1(graph.inputShape));
    t.op(BuiltinOperator.REVERSE_V2, [x, t.ints('mirror/axis', [2])], [mirrored], { type: BuiltinOptions.ReverseV2Options, build: (b) => ReverseV2Options.createReverseV2Options(b) });
    const shape = batch1(graph.nodes[graph.output]!.shape);
    const sum = t.value('photo_plus_mirror', shape);
    t.op(BuiltinOperator.ADD, [body(t, graph, x, 'photo/'), body(t, graph, mirrored, 'mirror/')], [sum], addOptions('linear'));
    y = t.value(opts.outputName ?? 'probabilities', shape);
    t.op(BuiltinOperator.MUL, [sum, t.floats('half', Float32Array.of(0.5), [], false)], [y], mulOptions('linear'));
  } else {
    y = body(t, graph, x, '');
    t.tensors[y]!.name = opts.outputName ?? 'probabilities';
  }
  return serialize(t, input, y, opts);
}

/** Writes the graph's body on tensor `input`; returns the output tensor. */
function floatBody(t: TfliteBuilder, graph: ExportGraph, input: number, prefix: string): number {
  const values: number[] = [];
  for (const node of graph.nodes) values[node.id] = node.op === 'input' ? input : emit(t, graph, node, node.inputs.map((i) => values[i]!), prefix);
  return values[graph.output]!;
}

/**
 * The body with the plan's values in int8: a QUANTIZE where an int8 op reads a float value (the
 * preprocessed photo), a DEQUANTIZE where a float op reads an int8 one (the head). Returns a float output.
 */
function int8Body(t: TfliteBuilder, graph: ExportGraph, input: number, prefix: string, plan: Int8Plan): number {
  const floats: number[] = [];
  const ints: number[] = [];
  const shapeOf = (id: number) => graph.nodes[id]!.shape.map((d) => d ?? 1);
  const asInt8 = (id: number) => {
    if (ints[id] === undefined) {
      ints[id] = t.value(`${prefix}${graph.nodes[id]!.name}/int8`, shapeOf(id), plan.get(id)!);
      t.op(BuiltinOperator.QUANTIZE, [floats[id]!], [ints[id]!], undefined, 2);
    }
    return ints[id]!;
  };
  const asFloat = (id: number) => {
    if (floats[id] === undefined) {
      floats[id] = t.value(`${prefix}${graph.nodes[id]!.name}/float`, shapeOf(id));
      t.op(BuiltinOperator.DEQUANTIZE, [ints[id]!], [floats[id]!], { type: BuiltinOptions.DequantizeOptions, build: (b) => DequantizeOptions.createDequantizeOptions(b) }, 2);
    }
    return floats[id]!;
  };
  for (const node of graph.nodes) {
    if (node.op === 'input') floats[node.id] = input;
    else if (plan.has(node.id)) ints[node.id] = emit(t, graph, node, node.inputs.map(asInt8), prefix, { out: plan.get(node.id)!, input: plan.get(node.inputs[0]!)! });
    else floats[node.id] = emit(t, graph, node, node.inputs.map(asFloat), prefix);
  }
  return asFloat(graph.output);
}

/**
 * One op of the body. With `quant` (an op of the 8-bit body, runsInt8 in quantize.ts) its inputs and
 * output are int8 with those params, filters int8 per output channel and biases int32, and the op
 * versions are the ones that read int8.
 */
function emit(t: TfliteBuilder, graph: ExportGraph, node: GraphNode, ins: number[], prefix: string, quant?: { out: QuantParams; input: QuantParams }): number {
  const shape = node.shape.map((d) => d ?? 1);
  const name = `${prefix}${node.name}`;
  const out = () => t.value(name, shape, quant?.out);
  const version = (int8: number) => (quant ? int8 : 1);
  const unsupported = (why: string) => new UnsupportedLayerError(`"${node.name}" (${node.op})`, why, 'TFLite');
  const inShape = graph.nodes[node.inputs[0] ?? 0]!.shape;
  // An int8 PAD fills with the zero point, which stands for 0: the same as the float model's zeros.
  const pad = (x: number, [top, left, bottom, right]: [number, number, number, number], y: number) =>
    t.op(BuiltinOperator.PAD, [x, t.ints(`${name}/paddings`, [0, 0, top, bottom, left, right, 0, 0], [4, 2])], [y], { type: BuiltinOptions.PadOptions, build: (b) => PadOptions.createPadOptions(b) }, version(2));
  // TFLite convolutions pad only as 'same' or 'valid'; other pads become a PAD op first.
  const padded = (kernel: [number, number], strides: [number, number], dilations: [number, number], pads: [number, number, number, number]) => {
    const mode = paddingMode(inShape, kernel, strides, dilations, pads);
    if (mode !== 'explicit') return { x: ins[0]!, padding: mode === 'same' ? Padding.SAME : Padding.VALID };
    const [top, left, bottom, right] = pads;
    const [, h, w, c] = inShape.map((d) => d ?? 1);
    const y = t.value(`${name}/pad`, [1, h! + top + bottom, w! + left + right, c!], quant?.input);
    pad(ins[0]!, pads, y);
    return { x: y, padding: Padding.VALID };
  };
  // Filter and bias tensors: float (float16 filters for 1x1 and full convolutions when asked), or int8 and int32.
  const weights = (filter: Float32Array, filterShape: number[], bias: Float32Array, channelAxis: number, float16: boolean) =>
    quant
      ? t.int8Weights(name, filter, filterShape, channelAxis, bias, quant.input.scale)
      : { weights: t.floats(`${name}/filter`, filter, filterShape, float16), bias: t.floats(`${name}/bias`, bias, [bias.length], false) };
  if (quant && !runsInt8(node)) throw unsupported('no 8-bit version of this op');
  switch (node.op) {
    case 'conv2d': {
      const [kh, kw] = [node.filterShape[1], node.filterShape[2]];
      const { x, padding } = padded([kh, kw], node.strides, node.dilations, node.pads);
      const w = weights(node.filter, node.filterShape, node.bias, 0, true);
      const y = out();
      const act = activationType(node.activation);
      const [sh, sw] = node.strides;
      const [dh, dw] = node.dilations;
      t.op(BuiltinOperator.CONV_2D, [x, w.weights, w.bias], [y], { type: BuiltinOptions.Conv2DOptions, build: (b) => Conv2DOptions.createConv2DOptions(b, padding, sw, sh, act, dw, dh, TensorType.FLOAT32) }, version(3));
      return y;
    }
    case 'depthwiseConv2d': {
      const [kh, kw] = [node.filterShape[1], node.filterShape[2]];
      const { x, padding } = padded([kh, kw], node.strides, node.dilations, node.pads);
      const w = weights(node.filter, node.filterShape, node.bias, 3, false);
      const y = out();
      const act = activationType(node.activation);
      const [sh, sw] = node.strides;
      const [dh, dw] = node.dilations;
      t.op(BuiltinOperator.DEPTHWISE_CONV_2D, [x, w.weights, w.bias], [y], {
        type: BuiltinOptions.DepthwiseConv2DOptions,
        build: (b) => DepthwiseConv2DOptions.createDepthwiseConv2DOptions(b, padding, sw, sh, node.multiplier, act, dw, dh),
      }, version(3));
      return y;
    }
    case 'dense': {
      if (inShape.length !== 2) throw unsupported('dense on an image-shaped value');
      const y = out();
      const act = activationType(node.activation);
      const inputs = [ins[0]!, t.floats(`${name}/weights`, node.weights, node.weightsShape), node.bias ? t.floats(`${name}/bias`, node.bias, [node.bias.length], false) : -1];
      t.op(BuiltinOperator.FULLY_CONNECTED, inputs, [y], {
        type: BuiltinOptions.FullyConnectedOptions,
        build: (b) => FullyConnectedOptions.createFullyConnectedOptions(b, act, FullyConnectedOptionsWeightsFormat.DEFAULT, false, false, TensorType.FLOAT32),
      });
      return y;
    }
    case 'activation': {
      const y = out();
      const simple: Partial<Record<string, BuiltinOperator>> = { relu: BuiltinOperator.RELU, relu6: BuiltinOperator.RELU6, sigmoid: BuiltinOperator.LOGISTIC, tanh: BuiltinOperator.TANH };
      if (simple[node.fn] !== undefined) t.op(simple[node.fn]!, ins, [y]);
      else if (node.fn === 'softmax') {
        if (node.shape.length !== 2) throw unsupported('softmax over an image-shaped value');
        t.op(BuiltinOperator.SOFTMAX, ins, [y], { type: BuiltinOptions.SoftmaxOptions, build: (b) => SoftmaxOptions.createSoftmaxOptions(b, 1) });
      } else if (node.fn === 'leakyRelu') {
        t.op(BuiltinOperator.LEAKY_RELU, ins, [y], { type: BuiltinOptions.LeakyReluOptions, build: (b) => LeakyReluOptions.createLeakyReluOptions(b, node.alpha ?? 0.3) });
      } else throw unsupported(`activation "${node.fn}"`);
      return y;
    }
    case 'affine': {
      const scaled = t.value(`${name}/scaled`, shape);
      const dims = (v: Float32Array) => (v.length === 1 ? [] : [v.length]);
      t.op(BuiltinOperator.MUL, [ins[0]!, t.floats(`${name}/scale`, node.scale, dims(node.scale), node.scale.length > 1)], [scaled], mulOptions('linear'));
      const y = out();
      t.op(BuiltinOperator.ADD, [scaled, t.floats(`${name}/shift`, node.shift, dims(node.shift), node.shift.length > 1)], [y], addOptions('linear'));
      return y;
    }
    case 'add':
    case 'mul':
    case 'max':
    case 'min':
    case 'mean': {
      const code = { add: BuiltinOperator.ADD, mean: BuiltinOperator.ADD, mul: BuiltinOperator.MUL, max: BuiltinOperator.MAXIMUM, min: BuiltinOperator.MINIMUM }[node.op];
      const options = (a: FusedActivation): Options | undefined =>
        code === BuiltinOperator.ADD ? addOptions(a) : code === BuiltinOperator.MUL ? mulOptions(a) : { type: BuiltinOptions.MaximumMinimumOptions, build: (b) => MaximumMinimumOptions.createMaximumMinimumOptions(b) };
      if (node.activation !== 'linear' && (node.op === 'max' || node.op === 'min' || node.op === 'mean')) throw unsupported('an activation after max, min or mean');
      let acc = ins[0]!;
      ins.slice(1).forEach((next, k) => {
        const last = k === ins.length - 2 && node.op !== 'mean';
        const y = last ? out() : t.value(`${name}/partial`, shape);
        t.op(code, [acc, next], [y], options(last ? node.activation : 'linear'), version(2));
        acc = y;
      });
      if (node.op !== 'mean') return acc;
      const y = out();
      t.op(BuiltinOperator.MUL, [acc, t.floats(`${name}/share`, Float32Array.of(1 / ins.length), [], false)], [y], mulOptions('linear'));
      return y;
    }
    case 'concat': {
      const y = out();
      t.op(BuiltinOperator.CONCATENATION, ins, [y], { type: BuiltinOptions.ConcatenationOptions, build: (b) => ConcatenationOptions.createConcatenationOptions(b, node.axis, ActivationFunctionType.NONE) }, version(2));
      return y;
    }
    case 'pad': {
      const y = out();
      pad(ins[0]!, node.pads, y);
      return y;
    }
    case 'globalPool': {
      const y = out();
      t.op(
        node.kind === 'avg' ? BuiltinOperator.MEAN : BuiltinOperator.REDUCE_MAX,
        [ins[0]!, t.ints(`${name}/axes`, [1, 2])],
        [y],
        { type: BuiltinOptions.ReducerOptions, build: (b) => ReducerOptions.createReducerOptions(b, node.keepDims) },
        version(2),
      );
      return y;
    }
    case 'pool': {
      const mode = paddingMode(inShape, node.size, node.strides, [1, 1], node.pads);
      if (mode === 'explicit') throw unsupported('pooling with padding other than TF\'s "same"');
      const y = out();
      t.op(node.kind === 'avg' ? BuiltinOperator.AVERAGE_POOL_2D : BuiltinOperator.MAX_POOL_2D, ins, [y], {
        type: BuiltinOptions.Pool2DOptions,
        build: (b) => Pool2DOptions.createPool2DOptions(b, mode === 'same' ? Padding.SAME : Padding.VALID, node.strides[1], node.strides[0], node.size[1], node.size[0], ActivationFunctionType.NONE),
      });
      return y;
    }
    case 'reshape': {
      const y = out();
      t.op(BuiltinOperator.RESHAPE, [ins[0]!, t.ints(`${name}/shape`, shape)], [y], {
        type: BuiltinOptions.ReshapeOptions,
        build: (b) => ReshapeOptions.createReshapeOptions(b, ReshapeOptions.createNewShapeVector(b, shape)),
      });
      return y;
    }
    case 'transpose': {
      const y = out();
      t.op(BuiltinOperator.TRANSPOSE, [ins[0]!, t.ints(`${name}/perm`, node.perm)], [y], { type: BuiltinOptions.TransposeOptions, build: (b) => TransposeOptions.createTransposeOptions(b) });
      return y;
    }
    case 'input':
      return ins[0]!;
  }
}

function activationType(a: FusedActivation): ActivationFunctionType {
  return a === 'relu' ? ActivationFunctionType.RELU : a === 'relu6' ? ActivationFunctionType.RELU6 : ActivationFunctionType.NONE;
}
function addOptions(a: FusedActivation): Options {
  return { type: BuiltinOptions.AddOptions, build: (b) => AddOptions.createAddOptions(b, activationType(a), false) };
}
function mulOptions(a: FusedActivation): Options {
  return { type: BuiltinOptions.MulOptions, build: (b) => MulOptions.createMulOptions(b, activationType(a)) };
}

/** A [ubyte] vector aligned to 16 bytes (Buffer.data's force_align), copied in one go. */
function alignedBytes(b: flatbuffers.Builder, data: Uint8Array): flatbuffers.Offset {
  b.startVector(1, data.length, 16);
  const inner = b as unknown as { bb: flatbuffers.ByteBuffer; space: number };
  inner.space -= data.length;
  inner.bb.setPosition(inner.space);
  inner.bb.bytes().set(data, inner.space);
  return b.endVector();
}

function serialize(t: TfliteBuilder, input: number, output: number, opts: TfliteWriteOptions): Uint8Array {
  const weightBytes = t.buffers.reduce((s, d) => s + (d?.length ?? 0) + 16, 0);
  const b = new flatbuffers.Builder(weightBytes + 64 * 1024);
  const metadataEntries: { name: string; data: Uint8Array }[] = [{ name: 'min_runtime_version', data: new TextEncoder().encode(MIN_RUNTIME_VERSION.padEnd(16, '\0')) }];
  if (opts.metadata) metadataEntries.push({ name: 'TFLITE_METADATA', data: opts.metadata });
  const allBuffers = [...t.buffers, ...metadataEntries.map((m) => m.data)];

  // Largest first: the weights, then the tables that point at them.
  const bufferOffsets = allBuffers.map((data) => {
    if (!data) return Buffer.createBuffer(b, 0, 0n, 0n);
    const vector = alignedBytes(b, data);
    Buffer.startBuffer(b);
    Buffer.addData(b, vector);
    return Buffer.endBuffer(b);
  });
  const tensorOffsets = t.tensors.map((spec) => {
    const name = b.createString(spec.name);
    const shape = Tensor.createShapeVector(b, spec.shape);
    const q = spec.quantization;
    const quantization =
      q &&
      QuantizationParameters.createQuantizationParameters(
        b,
        0,
        0,
        QuantizationParameters.createScaleVector(b, q.scales),
        QuantizationParameters.createZeroPointVector(b, q.zeroPoints.map(BigInt)),
        0,
        0,
        q.dimension,
      );
    Tensor.startTensor(b);
    Tensor.addShape(b, shape);
    Tensor.addType(b, spec.type);
    Tensor.addBuffer(b, spec.buffer);
    Tensor.addName(b, name);
    if (quantization !== undefined) Tensor.addQuantization(b, quantization);
    return Tensor.endTensor(b);
  });
  const codes: { code: BuiltinOperator; version: number }[] = [];
  const codeIndex = (code: BuiltinOperator, version: number) => {
    let i = codes.findIndex((c) => c.code === code && c.version === version);
    if (i < 0) i = codes.push({ code, version }) - 1;
    return i;
  };
  const operatorOffsets = t.operators.map((op) => {
    const inputs = Operator.createInputsVector(b, op.inputs);
    const outputs = Operator.createOutputsVector(b, op.outputs);
    const options = op.options?.build(b);
    Operator.startOperator(b);
    Operator.addOpcodeIndex(b, codeIndex(op.code, op.version));
    Operator.addInputs(b, inputs);
    Operator.addOutputs(b, outputs);
    if (op.options && options !== undefined) {
      Operator.addBuiltinOptionsType(b, op.options.type);
      Operator.addBuiltinOptions(b, options);
    }
    return Operator.endOperator(b);
  });
  const subgraph = SubGraph.createSubGraph(
    b,
    SubGraph.createTensorsVector(b, tensorOffsets),
    SubGraph.createInputsVector(b, [input]),
    SubGraph.createOutputsVector(b, [output]),
    SubGraph.createOperatorsVector(b, operatorOffsets),
    b.createString('main'),
    0,
  );
  const codeOffsets = codes.map((c) => OperatorCode.createOperatorCode(b, Math.min(c.code, 127), 0, c.version, c.code));
  const metadataOffsets = metadataEntries.map((m, i) => Metadata.createMetadata(b, b.createString(m.name), t.buffers.length + i));
  const description = b.createString(opts.description ?? 'Foldwise image classifier');
  const operatorCodes = Model.createOperatorCodesVector(b, codeOffsets);
  const subgraphs = Model.createSubgraphsVector(b, [subgraph]);
  const buffers = Model.createBuffersVector(b, bufferOffsets);
  const metadata = Model.createMetadataVector(b, metadataOffsets);
  Model.startModel(b);
  Model.addVersion(b, 3);
  Model.addOperatorCodes(b, operatorCodes);
  Model.addSubgraphs(b, subgraphs);
  Model.addDescription(b, description);
  Model.addBuffers(b, buffers);
  Model.addMetadata(b, metadata);
  b.finish(Model.endModel(b), 'TFL3');
  return b.asUint8Array();
}
