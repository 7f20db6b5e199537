// An export graph as a plain stock tfjs layers model (Conv2D, DepthwiseConv2D, Dense, ReLU ... with
// stock configs), which stock @tensorflow/tfjs loads from model.json. Batch norms arrive folded and
// paddings that 'same' does are the convolutions' own, so the written model does about half the
// work of the training-time one on wasm.
//   pixels -> preprocess (Rescaling) -> [mirror: Permute, Dense(reversed identity), Permute] ->
//   the body as one nested model (applied twice, sharing weights, with the mirror) -> Average
import * as tf from '@tensorflow/tfjs';
import { paddingMode, UnsupportedLayerError, type ExportGraph, type FusedActivation, type GraphNode, type Pads } from './types';

/**
 * Every layer here is given its weights, and model.json keeps each layer's initializer: a random one
 * (tfjs's default) makes whoever loads the model draw millions of random numbers only to overwrite
 * them, ~90 ms of the pair's 130-190 ms load in Node; zeros cost next to nothing.
 */
const ZERO_INIT = { kernelInitializer: 'zeros' } as const;

/** The graph as a live layers model; the caller disposes it. */
export function graphToLayersModel(graph: ExportGraph): tf.LayersModel {
  const unique = uniqueNames();
  const made: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  try {
    const pixels = tf.input({ shape: graph.inputShape.slice(1) as number[], dtype: 'float32', name: unique('pixels') });
    let x = pixels;
    if (graph.preprocessing) {
      x = tf.layers.rescaling({ scale: graph.preprocessing.scale, offset: graph.preprocessing.offset, name: unique('preprocess') }).apply(x) as tf.SymbolicTensor;
    }
    const bodyInput = tf.input({ shape: graph.inputShape.slice(1) as number[], dtype: 'float32', name: unique('body_input') });
    const bodyOutput = emitBody(graph, bodyInput, unique, keep);
    const body = tf.model({ inputs: bodyInput, outputs: bodyOutput, name: unique(graph.mirrorAverage ? 'classifier' : 'probabilities') });
    let y: tf.SymbolicTensor;
    if (graph.mirrorAverage) {
      const width = graph.inputShape[2] as number;
      // tfjs has no flip layer: move the width axis last, multiply by the reversed identity (exact: one 1 and zeros per output), move it back.
      const reversed = keep(tf.tidy(() => tf.reverse(tf.eye(width), 1)));
      let m = tf.layers.permute({ dims: [1, 3, 2], name: unique('width_last') }).apply(x) as tf.SymbolicTensor;
      m = tf.layers.dense({ units: width, useBias: false, trainable: false, weights: [reversed], ...ZERO_INIT, name: unique('mirror') }).apply(m) as tf.SymbolicTensor;
      m = tf.layers.permute({ dims: [1, 3, 2], name: unique('width_back') }).apply(m) as tf.SymbolicTensor;
      const views = [body.apply(x) as tf.SymbolicTensor, body.apply(m) as tf.SymbolicTensor];
      y = tf.layers.average({ name: unique('probabilities') }).apply(views) as tf.SymbolicTensor;
    } else {
      y = body.apply(x) as tf.SymbolicTensor;
    }
    return tf.model({ inputs: pixels, outputs: y, name: graph.name });
  } finally {
    // Layers copied what they were given when they were applied.
    tf.dispose(made);
  }
}

/**
 * The body alone (its input already preprocessed), answering the values of nodes `ids`, in that
 * order: what 8-bit export calibrates on. The caller disposes it.
 */
export function graphValues(graph: ExportGraph, ids: number[]): tf.LayersModel {
  const unique = uniqueNames();
  const made: tf.Tensor[] = [];
  try {
    const input = tf.input({ shape: graph.inputShape.slice(1) as number[], dtype: 'float32', name: unique('body_input') });
    const values = emitValues(graph, input, unique, (t) => (made.push(t), t));
    return tf.model({ inputs: input, outputs: ids.map((id) => values[id]!), name: unique('values') });
  } finally {
    tf.dispose(made);
  }
}

/** Layer names from hints: tfjs's allowed characters, and a number where a name was taken. */
function uniqueNames(): (hint: string) => string {
  const names = new Set<string>();
  return (hint) => {
    const base = hint.replace(/[^A-Za-z0-9_]/g, '_');
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
}

function emitBody(graph: ExportGraph, input: tf.SymbolicTensor, unique: (hint: string) => string, keep: <T extends tf.Tensor>(t: T) => T): tf.SymbolicTensor {
  return emitValues(graph, input, unique, keep)[graph.output]!;
}

function emitValues(graph: ExportGraph, input: tf.SymbolicTensor, unique: (hint: string) => string, keep: <T extends tf.Tensor>(t: T) => T): tf.SymbolicTensor[] {
  const values: tf.SymbolicTensor[] = [];
  for (const node of graph.nodes) {
    if (node.op === 'input') {
      values[node.id] = input;
      continue;
    }
    const ins = node.inputs.map((i) => values[i]!);
    values[node.id] = emit(graph, node, ins, unique, keep);
  }
  return values;
}

function emit(graph: ExportGraph, node: GraphNode, ins: tf.SymbolicTensor[], unique: (hint: string) => string, keep: <T extends tf.Tensor>(t: T) => T): tf.SymbolicTensor {
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[] = ins[0]!) => layer.apply(x) as tf.SymbolicTensor;
  const name = unique(node.name);
  const unsupported = (why: string) => new UnsupportedLayerError(`"${node.name}" (${node.op})`, why, 'TF.js');
  const inShape = graph.nodes[node.inputs[0] ?? 0]!.shape;
  // tfjs-layers fuses only relu into a convolution; a layer's 'relu6' activation runs as minimum(6, relu(x)),
  // whose broadcast minimum made the exported MobileNetV2 twice as slow on wasm as a ReLU(maxValue 6) layer.
  const fused = (a: FusedActivation) => (a === 'relu' ? a : undefined);
  const after = (y: tf.SymbolicTensor, a: FusedActivation) => (a === 'relu6' ? apply(tf.layers.reLU({ maxValue: 6, name: unique(`${node.name}_relu6`) }), y) : y);
  // A convolution pads by itself when TF's 'same' does exactly its pads; otherwise a ZeroPadding2D goes first.
  const padded = (kernel: [number, number], strides: [number, number], dilations: [number, number], pads: Pads) => {
    const mode = paddingMode(inShape, kernel, strides, dilations, pads);
    if (mode !== 'explicit') return { x: ins[0]!, padding: mode };
    const [t, l, b, r] = pads;
    const x = apply(tf.layers.zeroPadding2d({ padding: [[t, b], [l, r]], name: unique(`${node.name}_pad`) }));
    return { x, padding: 'valid' as const };
  };
  switch (node.op) {
    case 'conv2d': {
      const [o, kh, kw, i] = node.filterShape;
      const kernel = new Float32Array(node.filter.length); // OHWI -> HWIO
      for (let a = 0; a < o; a++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < i; c++) kernel[((y * kw + x) * i + c) * o + a] = node.filter[((a * kh + y) * kw + x) * i + c]!;
      const { x, padding } = padded([kh, kw], node.strides, node.dilations, node.pads);
      const weights = [keep(tf.tensor4d(kernel, [kh, kw, i, o])), keep(tf.tensor1d(node.bias))];
      return after(apply(tf.layers.conv2d({ filters: o, kernelSize: [kh, kw], strides: node.strides, dilationRate: node.dilations, padding, activation: fused(node.activation), weights, ...ZERO_INIT, name }), x), node.activation);
    }
    case 'depthwiseConv2d': {
      const [, kh, kw, cm] = node.filterShape;
      const { x, padding } = padded([kh, kw], node.strides, node.dilations, node.pads);
      const weights = [keep(tf.tensor4d(node.filter, [kh, kw, cm / node.multiplier, node.multiplier])), keep(tf.tensor1d(node.bias))];
      const y = apply(
        tf.layers.depthwiseConv2d({ kernelSize: [kh, kw], depthMultiplier: node.multiplier, strides: node.strides, dilationRate: node.dilations, padding, activation: fused(node.activation), weights, depthwiseInitializer: 'zeros', name }),
        x,
      );
      return after(y, node.activation);
    }
    case 'dense': {
      const [out, cin] = node.weightsShape;
      const kernel = new Float32Array(node.weights.length); // [out, in] -> [in, out]
      for (let a = 0; a < out; a++) for (let c = 0; c < cin; c++) kernel[c * out + a] = node.weights[a * cin + c]!;
      const weights = [keep(tf.tensor2d(kernel, [cin, out])), ...(node.bias ? [keep(tf.tensor1d(node.bias))] : [])];
      return after(apply(tf.layers.dense({ units: out, useBias: node.bias !== null, activation: fused(node.activation), weights, ...ZERO_INIT, name })), node.activation);
    }
    case 'activation':
      if (node.fn === 'relu') return apply(tf.layers.reLU({ name }));
      if (node.fn === 'relu6') return apply(tf.layers.reLU({ maxValue: 6, name }));
      if (node.fn === 'leakyRelu') return apply(tf.layers.leakyReLU({ alpha: node.alpha, name }));
      return apply(tf.layers.activation({ activation: node.fn, name }));
    case 'affine': {
      if (node.scale.length === 1 && node.shift.length === 1) return apply(tf.layers.rescaling({ scale: node.scale[0]!, offset: node.shift[0]!, name }));
      if (node.shape.length !== 4) throw unsupported('a per-channel scale on a non-image value');
      // Per channel x*scale+shift on an image: a 1x1 depthwise convolution does exactly that.
      const c = node.shape[3] as number;
      const expand = (v: Float32Array) => (v.length === 1 ? new Float32Array(c).fill(v[0]!) : v);
      const weights = [keep(tf.tensor4d(expand(node.scale), [1, 1, c, 1])), keep(tf.tensor1d(expand(node.shift)))];
      return apply(tf.layers.depthwiseConv2d({ kernelSize: 1, weights, depthwiseInitializer: 'zeros', name }));
    }
    case 'add':
    case 'mul':
    case 'max':
    case 'min':
    case 'mean': {
      const make = { add: tf.layers.add, mul: tf.layers.multiply, max: tf.layers.maximum, min: tf.layers.minimum, mean: tf.layers.average }[node.op];
      const y = apply(make({ name }), ins);
      if (node.activation === 'linear') return y;
      return apply(tf.layers.reLU({ maxValue: node.activation === 'relu6' ? 6 : undefined, name: unique(`${node.name}_${node.activation}`) }), y);
    }
    case 'concat':
      return apply(tf.layers.concatenate({ axis: node.axis, name }), ins);
    case 'pad': {
      const [t, l, b, r] = node.pads;
      return apply(tf.layers.zeroPadding2d({ padding: [[t, b], [l, r]], name }));
    }
    case 'globalPool':
      if (node.keepDims) throw unsupported('pooling that keeps its dimensions');
      return apply(node.kind === 'avg' ? tf.layers.globalAveragePooling2d({ name }) : tf.layers.globalMaxPooling2d({ name }));
    case 'pool': {
      const mode = paddingMode(inShape, node.size, node.strides, [1, 1], node.pads);
      if (mode === 'explicit') throw unsupported('pooling with padding other than TF\'s "same"');
      const args = { poolSize: node.size, strides: node.strides, padding: mode, name };
      return apply(node.kind === 'avg' ? tf.layers.averagePooling2d(args) : tf.layers.maxPooling2d(args));
    }
    case 'reshape':
      return apply(tf.layers.reshape({ targetShape: node.shape.slice(1) as number[], name }));
    case 'transpose':
      if (node.perm[0] !== 0) throw unsupported('a transpose that moves the batch axis');
      return apply(tf.layers.permute({ dims: node.perm.slice(1), name }));
    case 'input':
      return ins[0]!;
  }
}
