// 8-bit TFLite (TFLite's int8 scheme, https://ai.google.dev/edge/litert/models/quantization_spec):
// the convolutional body runs on int8 values, each with one scale and zero point measured on
// training photos (calibration); weights are int8 per output channel with zero point 0, biases int32
// at input scale x weight scale, corrected for what rounding the weights takes away on average
// (correctBiases). The head (dense + softmax) and the mirror average stay float32: they
// are a few kilobytes and the probabilities keep their float precision.
import * as tf from '@tensorflow/tfjs';
import { graphToGraphModel } from '../graph/tfjs-graph';
import type { ExportGraph, GraphNode } from '../graph';

/** real = scale * (q - zeroPoint) */
export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

/** Every value the int8 body computes, by graph node id, with the params it is stored with. */
export type Int8Plan = Map<number, QuantParams>;

/** Ops with an int8 kernel in TFLite's builtins and XNNPACK; their inputs and output are int8. */
export function runsInt8(node: GraphNode): boolean {
  switch (node.op) {
    case 'input':
    case 'conv2d':
    case 'depthwiseConv2d':
    case 'concat':
    case 'pad':
    case 'reshape':
      return true;
    case 'add':
      return node.inputs.length === 2;
    case 'globalPool':
      return node.kind === 'avg' && !node.keepDims;
    default:
      return false;
  }
}

/** Ops whose int8 output must have its input's params (TFLite's restriction for these kernels); MEAN requantizes. */
const SAME_PARAMS = new Set(['concat', 'pad', 'reshape']);

/** Smallest and largest value of each node's output over the calibration photos, the body's input included. */
export type Ranges = Map<number, { min: number; max: number }>;

export interface Calibration {
  ranges: Ranges;
  /** The mean of each channel of every value a convolution reads, by node id (for correctBiases). */
  means: Map<number, Float32Array>;
}

/**
 * Runs the graph's body in float32 (stock tfjs) on the calibration photos (RGB 0-255, NHWC, `n` at a
 * time) and records each int8 candidate's range, and the channel means convolutions read. The mirror
 * is not calibrated separately: a mirrored photo has the same pixel values, and the ranges of what
 * follows hardly move.
 */
export async function calibrate(graph: ExportGraph, batches: AsyncIterable<{ pixels: Float32Array; n: number }>): Promise<Calibration> {
  const ranges: Ranges = new Map();
  const widen = (id: number, min: number, max: number) => {
    const r = ranges.get(id);
    ranges.set(id, r ? { min: Math.min(r.min, min), max: Math.max(r.max, max) } : { min, max });
  };
  const ids = graph.nodes.filter((n) => n.op !== 'input' && runsInt8(n)).map((n) => n.id);
  const read = [...new Set(graph.nodes.filter((n) => n.op === 'conv2d' || n.op === 'depthwiseConv2d').map((n) => n.inputs[0]!))];
  const sums = new Map(read.map((id) => [id, new Float64Array(graph.nodes[id]!.shape.at(-1) as number)]));
  let photos = 0;
  // The float graph as the TF.js export writes it (one view), asked for every value at once.
  const written = graphToGraphModel({ ...graph, mirrorAverage: false });
  const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: written.modelTopology, weightSpecs: written.weightSpecs, weightData: written.weightData }));
  const measured = [graph.nodes[0]!.id, ...ids]; // the body's input (preprocessed photos) first
  const names = [...measured, ...read].map((id) => written.names[id]!);
  try {
    for await (const { pixels, n } of batches) {
      const shape = [n, ...(graph.inputShape.slice(1) as number[])];
      const found = tf.tidy(() => {
        const outs = model.execute(tf.tensor(pixels, shape), names) as tf.Tensor | tf.Tensor[];
        const values = Array.isArray(outs) ? outs : [outs];
        return [...values.slice(0, measured.length).map((t) => tf.stack([t.min(), t.max()])), ...values.slice(measured.length).map((t) => t.mean([0, 1, 2]))];
      });
      const values = await Promise.all(found.map((t) => t.data()));
      tf.dispose(found);
      measured.forEach((id, i) => widen(id, values[i]![0]!, values[i]![1]!));
      read.forEach((id, i) => {
        const sum = sums.get(id)!;
        values[measured.length + i]!.forEach((m, c) => (sum[c] = sum[c]! + m * n));
      });
      photos += n;
    }
  } finally {
    model.dispose();
  }
  return { ranges, means: new Map([...sums].map(([id, sum]) => [id, Float32Array.from(sum, (v) => v / Math.max(1, photos))])) };
}

/**
 * The graph with each 8-bit convolution's bias shifted by what rounding its weights to int8 takes away
 * on average: sum over its inputs of (weight - rounded weight) x the input channel's mean on the
 * calibration photos ("bias correction", Nagel et al. 2019). Rounding errors are small but not
 * centred on the photos' values, and they add up to a shift per output channel that 8-bit
 * values then carry through the network: on the pair's flowers5 run, simulated, weights alone moved
 * 17% of top classes, and 1.3% after correction.
 */
export function correctBiases(graph: ExportGraph, plan: Int8Plan, means: Map<number, Float32Array>): ExportGraph {
  const nodes = graph.nodes.map((node): GraphNode => {
    const mean = means.get(node.inputs[0] ?? -1);
    if (!plan.has(node.id) || !mean || (node.op !== 'conv2d' && node.op !== 'depthwiseConv2d')) return node;
    const axis = node.op === 'conv2d' ? 0 : 3; // as the writer quantizes them: OHWI per O, [1, H, W, C*M] per C*M
    const { values, scales } = quantizeWeights(node.filter, node.filterShape, axis);
    const bias = Float64Array.from(node.bias);
    const [o, , , last] = node.filterShape;
    const perOutput = node.filter.length / o;
    const multiplier = node.op === 'depthwiseConv2d' ? node.multiplier : 1;
    node.filter.forEach((w, j) => {
      // conv2d (OHWI): output channel j / (H*W*I) reads input channel j % I.
      // depthwise ([1, H, W, C*M]): channel j % (C*M) reads input channel (j % (C*M)) / M.
      const [out, input] = axis === 0 ? [Math.floor(j / perOutput), j % last] : [j % last, Math.floor((j % last) / multiplier)];
      bias[out] = bias[out]! + (w - values[j]! * scales[out]!) * mean[input]!;
    });
    return { ...node, bias: Float32Array.from(bias) };
  });
  return { ...graph, nodes };
}

/** Params for int8 values in [min, max] (widened to hold 0, which must be exact for padding and ReLU). */
export function paramsFor(min: number, max: number): QuantParams {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max, lo + 1e-6);
  const scale = (hi - lo) / 255;
  return { scale, zeroPoint: Math.max(-128, Math.min(127, Math.round(-128 - lo / scale))) };
}

/** Params of every int8 value: ops that must keep their input's params share one range with it. */
export function planInt8(graph: ExportGraph, ranges: Ranges): Int8Plan {
  const int8 = new Set<number>();
  for (const n of graph.nodes) if (runsInt8(n) && n.inputs.every((i) => int8.has(i))) int8.add(n.id);
  const parent = new Map<number, number>();
  const root = (id: number): number => {
    const p = parent.get(id) ?? id;
    if (p === id) return id;
    const r = root(p);
    parent.set(id, r);
    return r;
  };
  for (const node of graph.nodes) {
    if (!int8.has(node.id) || !SAME_PARAMS.has(node.op)) continue;
    for (const i of node.inputs) parent.set(root(i), root(node.id));
  }
  const groups = new Map<number, { min: number; max: number }>();
  for (const id of int8) {
    const r = ranges.get(id);
    if (!r) throw new Error(`No calibration range for graph value ${id}`);
    const g = groups.get(root(id));
    groups.set(root(id), g ? { min: Math.min(g.min, r.min), max: Math.max(g.max, r.max) } : { ...r });
  }
  return new Map([...int8].map((id) => [id, paramsFor(groups.get(root(id))!.min, groups.get(root(id))!.max)]));
}

const rounded = new WeakMap<Float32Array, { axis: number; result: { values: Int8Array; scales: number[] } }>();

/**
 * Symmetric int8 weights, one scale per slice along `axis` (the output channel). Remembered per weight
 * array: bias correction and the writer both need a filter's rounded values (~0.35 s for the pair's).
 */
export function quantizeWeights(data: Float32Array, shape: number[], axis: number): { values: Int8Array; scales: number[] } {
  const known = rounded.get(data);
  if (known?.axis === axis) return known.result;
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const scales = new Array<number>(channels).fill(0);
  data.forEach((v, i) => (scales[channelOf(i)] = Math.max(scales[channelOf(i)]!, Math.abs(v))));
  for (let c = 0; c < channels; c++) scales[c] = scales[c]! > 0 ? scales[c]! / 127 : 1;
  const values = Int8Array.from(data, (v, i) => Math.max(-127, Math.min(127, Math.round(v / scales[channelOf(i)]!))));
  const result = { values, scales };
  rounded.set(data, { axis, result });
  return result;
}
