// The one export graph: every model file Foldwise writes (ONNX, TF.js, TFLite, Core ML) is written
// from this, so batch norms and paddings are folded once, here, and every format agrees on them.
//
//   ExportGraph
//     input          the photo: RGB 0-255 float32 NHWC [N, size, size, 3]
//     preprocessing  x*scale+offset applied to the input first (a backbone's Rescaling), or null
//     mirrorAverage  true: the answer is the mean of the body on the photo and on its left-right
//                    mirror (the app's test-time augmentation); the mirror is taken of the raw photo
//     nodes          the body, in topological order; nodes[0] is the input (after preprocessing and
//                    mirroring); each node reads `inputs` (earlier node ids) and has the Keras shape
//                    `shape` (NHWC, null batch)
//     output         id of the node that is the body's answer (class probabilities for a run)
//
// Ops are few and plain. Convolutions carry their batch norm (folded into filter and bias), their
// zero padding (explicit pads, TensorFlow's 'same' included) and their activation. Weight layouts
// are TFLite's, the plainest for other writers to transpose from:
//   conv2d           filter OHWI [out, kh, kw, in]
//   depthwiseConv2d  filter [1, kh, kw, in*multiplier] (output channel c*multiplier+m)
//   dense            weights [out, in]
// Built from a tf.LayersModel by from-layers.ts (one node per layer), then fold.ts merges what can be
// merged; run.ts builds the graph of a training run (its feature model + head + TTA flag).

/** Keras shape: NHWC for images; null is the batch. */
export type Shape = (number | null)[];

/** Activations a convolution, dense layer or add can carry fused. */
export type FusedActivation = 'linear' | 'relu' | 'relu6';

/** Standalone activations (fused ones included). */
export type ActivationFn =
  | 'relu'
  | 'relu6'
  | 'sigmoid'
  | 'tanh'
  | 'softmax'
  | 'elu'
  | 'selu'
  | 'softplus'
  | 'softsign'
  | 'hardSigmoid'
  | 'swish'
  | 'leakyRelu';

/** Zero padding of the two spatial axes: top, left, bottom, right. */
export type Pads = [number, number, number, number];

interface Base {
  id: number;
  /** A readable name from the original layer (unique in the graph). */
  name: string;
  inputs: number[];
  shape: Shape;
}

export interface InputNode extends Base {
  op: 'input';
}
export interface Conv2dNode extends Base {
  op: 'conv2d';
  /** OHWI */
  filter: Float32Array;
  filterShape: [number, number, number, number];
  bias: Float32Array;
  strides: [number, number];
  dilations: [number, number];
  pads: Pads;
  activation: FusedActivation;
}
export interface DepthwiseConv2dNode extends Base {
  op: 'depthwiseConv2d';
  /** [1, kh, kw, in*multiplier] */
  filter: Float32Array;
  filterShape: [1, number, number, number];
  multiplier: number;
  bias: Float32Array;
  strides: [number, number];
  dilations: [number, number];
  pads: Pads;
  activation: FusedActivation;
}
/** Over the last axis of its input (rank 2, or rank 4 like Keras Dense on an image). */
export interface DenseNode extends Base {
  op: 'dense';
  /** [out, in] */
  weights: Float32Array;
  weightsShape: [number, number];
  bias: Float32Array | null;
  activation: FusedActivation;
}
export interface ActivationNode extends Base {
  op: 'activation';
  fn: ActivationFn;
  /** leakyRelu's slope. */
  alpha?: number;
}
/** x*scale+shift over the last (channel) axis; length-1 arrays for a scalar (Rescaling). */
export interface AffineNode extends Base {
  op: 'affine';
  scale: Float32Array;
  shift: Float32Array;
}
/** Elementwise over all inputs (same shapes); 'mean' is their average. */
export interface ElementwiseNode extends Base {
  op: 'add' | 'mul' | 'max' | 'min' | 'mean';
  activation: FusedActivation;
}
export interface ConcatNode extends Base {
  op: 'concat';
  /** Keras axis, non-negative. */
  axis: number;
}
export interface PadNode extends Base {
  op: 'pad';
  pads: Pads;
}
export interface GlobalPoolNode extends Base {
  op: 'globalPool';
  kind: 'avg' | 'max';
  keepDims: boolean;
}
/** TF pooling; average pooling with pads divides by the pixels inside the image only. */
export interface PoolNode extends Base {
  op: 'pool';
  kind: 'avg' | 'max';
  size: [number, number];
  strides: [number, number];
  pads: Pads;
}
/** To `shape`, in Keras memory order (NHWC). */
export interface ReshapeNode extends Base {
  op: 'reshape';
}
/** Keras axes permutation, batch included: output axis i is input axis perm[i]. */
export interface TransposeNode extends Base {
  op: 'transpose';
  perm: number[];
}

export type GraphNode =
  | InputNode
  | Conv2dNode
  | DepthwiseConv2dNode
  | DenseNode
  | ActivationNode
  | AffineNode
  | ElementwiseNode
  | ConcatNode
  | PadNode
  | GlobalPoolNode
  | PoolNode
  | ReshapeNode
  | TransposeNode;

export type Op = GraphNode['op'];

export interface ExportGraph {
  name: string;
  /** The photo: [null, size, size, 3] for Foldwise classifiers. */
  inputShape: Shape;
  preprocessing: { scale: number; offset: number } | null;
  mirrorAverage: boolean;
  nodes: GraphNode[];
  output: number;
}

/** A layer or op a writer cannot express; names the layer so the message says what to change. */
export class UnsupportedLayerError extends Error {
  constructor(what: string, why: string, writer = 'ONNX') {
    super(`Cannot write ${what} to ${writer}: ${why}`);
    this.name = 'export/unsupported-layer';
  }
}

/** TensorFlow's 'same' padding (before, after) for one spatial axis: the extra pixel goes at the end. */
export function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** How a node's explicit pads relate to TF padding modes, for writers that only have 'same' and 'valid'. */
export function paddingMode(inputShape: Shape, kernel: [number, number], strides: [number, number], dilations: [number, number], pads: Pads): 'valid' | 'same' | 'explicit' {
  if (pads.every((p) => p === 0)) return 'valid';
  const [, h, w] = inputShape as number[];
  const [top, bottom] = samePads(h!, kernel[0], strides[0], dilations[0]);
  const [left, right] = samePads(w!, kernel[1], strides[1], dilations[1]);
  return pads[0] === top && pads[1] === left && pads[2] === bottom && pads[3] === right ? 'same' : 'explicit';
}

/** How many nodes read each node (the output counts as a reader). */
export function readerCounts(graph: ExportGraph): Map<number, number> {
  const count = new Map<number, number>();
  for (const n of graph.nodes) for (const i of n.inputs) count.set(i, (count.get(i) ?? 0) + 1);
  count.set(graph.output, (count.get(graph.output) ?? 0) + 1);
  return count;
}
