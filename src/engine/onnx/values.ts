// Values flowing through the conversion. Some are kept "pending" so the next layer can fold into
// them: zero padding into a convolution's pads, batch norm into a convolution's weights.
// Rank-4 tensors live in ONNX as NCHW; every other rank keeps the Keras layout.
import type { OnnxGraph } from './graph';

/** Keras shape (NHWC for images); null is the batch. */
export type Shape = (number | null)[];

export interface Emitted {
  kind: 'tensor';
  name: string;
  shape: Shape;
}

/** ZeroPadding2D not emitted yet: a following 'valid' convolution takes these pads itself. */
export interface PendingPad {
  kind: 'pad';
  input: Value;
  /** top, left, bottom, right (ONNX pads order for the two spatial axes). */
  pads: [number, number, number, number];
  shape: Shape;
  emitted?: string;
}

/** A convolution whose weights may still absorb a batch norm. Weights are ONNX [O, I/group, kH, kW]. */
export interface PendingConv {
  kind: 'conv';
  input: string;
  hint: string;
  weight: Float64Array;
  weightDims: number[];
  bias: Float64Array;
  attributes: { kernel_shape: number[]; strides: number[]; pads: number[]; dilations: number[]; group: number };
  shape: Shape;
  emitted?: string;
}

export type Value = Emitted | PendingPad | PendingConv;

export function tensor(name: string, shape: Shape): Emitted {
  return { kind: 'tensor', name, shape };
}

/** Emits whatever a pending value stands for (once) and returns the ONNX tensor name. */
export function materialize(g: OnnxGraph, v: Value): string {
  if (v.kind === 'tensor') return v.name;
  if (v.emitted) return v.emitted;
  if (v.kind === 'pad') {
    const [top, left, bottom, right] = v.pads;
    const pads = g.ints('pads', [0, 0, top, left, 0, 0, bottom, right]);
    v.emitted = g.node('Pad', [materialize(g, v.input), pads], 'zero_padding', { mode: 'constant' });
    return v.emitted;
  }
  const weight = g.floats(`${v.hint}/kernel`, v.weight, v.weightDims);
  const bias = g.floats(`${v.hint}/bias`, v.bias, [v.bias.length]);
  v.emitted = g.node('Conv', [v.input, weight, bias], v.hint, { ...v.attributes });
  return v.emitted;
}
