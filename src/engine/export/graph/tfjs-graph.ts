// An export graph as a TF.js graph model: the format tensorflowjs_converter writes from a SavedModel,
// TensorFlow ops in GraphDef JSON that stock @tensorflow/tfjs runs with tf.loadGraphModel.
//
// Why not a layers model: tfjs-layers fuses only relu into a convolution, and nothing into a depthwise
// one, so every relu6 ran as two more passes over the image (Relu, then ClipByValue) and every depthwise
// convolution as a third (its bias Add). Here each convolution is one kernel with its bias and relu6
// (_FusedConv2D, FusedDepthwiseConv2dNative): 45 -> 38 ms a photo for the default backbone on wasm.
//   pixels -> Mul, AddV2 (preprocessing) -> [mirror: ReverseV2, ConcatV2 on the batch] -> the body
//   -> [Reshape to (2, n, classes), Mean of the two views] -> probabilities
import { paddingMode, UnsupportedLayerError, type ActivationFn, type ExportGraph, type FusedActivation, type GraphNode, type Pads } from './types';

interface NodeDef {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, unknown>;
}

export interface GraphModelArtifacts {
  format: 'graph-model';
  modelTopology: { node: NodeDef[]; library: object; versions: object };
  weightSpecs: { name: string; shape: number[]; dtype: 'float32' | 'int32' }[];
  weightData: ArrayBuffer;
  /** The op holding each graph node's value, by node id (not written: 8-bit calibration reads them). */
  names: string[];
}

/** TensorFlow's AttrValue in JSON, as the converter writes it (strings base64, integers as strings). */
const attr = {
  str: (s: string) => ({ s: Buffer.from(s).toString('base64') }),
  strs: (list: string[]) => ({ list: { s: list.map((s) => Buffer.from(s).toString('base64')) } }),
  int: (i: number) => ({ i: String(i) }),
  ints: (list: number[]) => ({ list: { i: list.map(String) } }),
  float: (f: number) => ({ f }),
  bool: (b: boolean) => ({ b }),
  type: (dtype: 'float32' | 'int32') => ({ type: dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32' }),
};
const FLOAT = { T: attr.type('float32') };
const NHWC = attr.str('NHWC');

/** The graph as model.json's topology and its weights, in one buffer. */
export function graphToGraphModel(graph: ExportGraph): GraphModelArtifacts {
  const nodes: NodeDef[] = [];
  const specs: GraphModelArtifacts['weightSpecs'] = [];
  const data: (Float32Array | Int32Array)[] = [];
  // The model's input and output keep these names (metadata.json and the snippets use them); no other op takes them.
  const IO = new Set(['pixels', 'probabilities']);
  const names = new Set<string>();
  const unique = (hint: string, io: boolean) => {
    const base = hint.replace(/[^A-Za-z0-9_./-]/g, '_');
    let name = base;
    for (let i = 1; !io && (names.has(name) || IO.has(name)); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const op = (hint: string, type: string, input: string[], attrs: Record<string, unknown> = {}, io = false) => {
    const name = unique(hint, io);
    nodes.push({ name, op: type, input, attr: attrs });
    return name;
  };
  const constant = (hint: string, values: Float32Array | Int32Array, shape: number[]) => {
    const dtype = values instanceof Float32Array ? 'float32' : 'int32';
    const name = op(hint, 'Const', [], { dtype: attr.type(dtype), value: { tensor: { dtype: attr.type(dtype).type, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } });
    specs.push({ name, shape, dtype });
    data.push(values);
    return name;
  };
  const ints = (hint: string, values: number[], shape = [values.length]) => constant(hint, Int32Array.from(values), shape);
  const scalar = (hint: string, value: number) => constant(hint, Float32Array.of(value), []);

  const inputDims = graph.inputShape.map((d) => ({ size: String(d ?? -1) }));
  const pixels = op('pixels', 'Placeholder', [], { dtype: attr.type('float32'), shape: { shape: { dim: inputDims } } }, true);
  let x = pixels;
  if (graph.preprocessing) {
    x = op('preprocess/scale', 'Mul', [x, scalar('preprocess/scale_value', graph.preprocessing.scale)], FLOAT);
    x = op('preprocess', 'AddV2', [x, scalar('preprocess/offset_value', graph.preprocessing.offset)], FLOAT);
  }
  if (graph.mirrorAverage) {
    // Both views in one batch: the photos, then their mirror images (width is axis 2).
    const mirrored = op('mirror', 'ReverseV2', [x, ints('mirror/axis', [2])], { ...FLOAT, Tidx: attr.type('int32') });
    x = op('both_views', 'ConcatV2', [x, mirrored, ints('both_views/axis', [0], [])], { ...FLOAT, N: attr.int(2), Tidx: attr.type('int32') });
  }
  const values: string[] = [];
  for (const node of graph.nodes) {
    values[node.id] = node.op === 'input' ? x : emit(graph, node, node.inputs.map((i) => values[i]!), { op, constant, ints, scalar });
  }
  const body = values[graph.output]!;
  if (graph.mirrorAverage) {
    const classes = graph.nodes[graph.output]!.shape.at(-1) as number;
    const views = op('views', 'Reshape', [body, ints('views/shape', [2, -1, classes])], { ...FLOAT, Tshape: attr.type('int32') });
    op('probabilities', 'Mean', [views, ints('probabilities/axis', [0])], { ...FLOAT, Tidx: attr.type('int32'), keep_dims: attr.bool(false) }, true);
  } else {
    op('probabilities', 'Identity', [body], FLOAT, true);
  }

  const bytes = new Uint8Array(data.reduce((sum, d) => sum + d.byteLength, 0));
  let offset = 0;
  for (const d of data) {
    bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), offset);
    offset += d.byteLength;
  }
  return { format: 'graph-model', modelTopology: { node: nodes, library: {}, versions: { producer: 1 } }, weightSpecs: specs, weightData: bytes.buffer, names: values };
}

interface Emitters {
  op(hint: string, type: string, input: string[], attrs?: Record<string, unknown>): string;
  constant(hint: string, values: Float32Array | Int32Array, shape: number[]): string;
  ints(hint: string, values: number[], shape?: number[]): string;
  scalar(hint: string, value: number): string;
}

const ACTIVATION_OPS: Partial<Record<ActivationFn, string>> = { relu: 'Relu', relu6: 'Relu6', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax', elu: 'Elu', selu: 'Selu', softplus: 'Softplus' };

function emit(graph: ExportGraph, node: GraphNode, ins: string[], e: Emitters): string {
  const { op, constant, ints, scalar } = e;
  const name = node.name;
  const unsupported = (why: string) => new UnsupportedLayerError(`"${node.name}" (${node.op})`, why, 'TF.js');
  const inShape = graph.nodes[node.inputs[0] ?? 0]!.shape;
  const activate = (y: string, a: FusedActivation) => (a === 'linear' ? y : op(`${name}/${a}`, ACTIVATION_OPS[a]!, [y], FLOAT));
  // A convolution: TF's 'same' or 'valid' where its pads are exactly those, else explicit pads.
  const convolution = (type: string, filter: string, bias: Float32Array, n: { strides: [number, number]; dilations: [number, number]; pads: Pads; activation: FusedActivation }, kernel: [number, number]) => {
    const mode = paddingMode(inShape, kernel, n.strides, n.dilations, n.pads);
    const [t, l, b, r] = n.pads;
    return op(name, type, [ins[0]!, filter, constant(`${name}/bias`, bias, [bias.length])], {
      ...FLOAT,
      strides: attr.ints([1, ...n.strides, 1]),
      dilations: attr.ints([1, ...n.dilations, 1]),
      padding: attr.str(mode.toUpperCase()),
      explicit_paddings: attr.ints(mode === 'explicit' ? [0, 0, t, b, l, r, 0, 0] : []),
      data_format: NHWC,
      fused_ops: attr.strs(n.activation === 'linear' ? ['BiasAdd'] : ['BiasAdd', ACTIVATION_OPS[n.activation]!]),
      num_args: attr.int(1),
      epsilon: attr.float(0),
    });
  };
  switch (node.op) {
    case 'input':
      return ins[0]!;
    case 'conv2d': {
      const [o, kh, kw, i] = node.filterShape;
      const kernel = new Float32Array(node.filter.length); // OHWI -> HWIO
      for (let a = 0; a < o; a++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < i; c++) kernel[((y * kw + x) * i + c) * o + a] = node.filter[((a * kh + y) * kw + x) * i + c]!;
      return convolution('_FusedConv2D', constant(`${name}/filter`, kernel, [kh, kw, i, o]), node.bias, node, [kh, kw]);
    }
    case 'depthwiseConv2d': {
      // [1, kh, kw, C*M] is [kh, kw, C, M] in memory.
      const [, kh, kw, cm] = node.filterShape;
      const filter = constant(`${name}/filter`, node.filter, [kh, kw, cm / node.multiplier, node.multiplier]);
      return convolution('FusedDepthwiseConv2dNative', filter, node.bias, node, [kh, kw]);
    }
    case 'dense': {
      const [out, cin] = node.weightsShape;
      const kernel = new Float32Array(node.weights.length); // [out, in] -> [in, out]
      for (let a = 0; a < out; a++) for (let c = 0; c < cin; c++) kernel[c * out + a] = node.weights[a * cin + c]!;
      const bias = node.bias ?? new Float32Array(out);
      if (inShape.length === 4) {
        // Keras Dense on an image acts on each pixel: a 1x1 convolution.
        const filter = constant(`${name}/kernel`, kernel, [1, 1, cin, out]);
        return convolution('_FusedConv2D', filter, bias, { strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], activation: node.activation }, [1, 1]);
      }
      if (inShape.length !== 2) throw unsupported(`a dense layer on a rank-${inShape.length} value`);
      return op(name, '_FusedMatMul', [ins[0]!, constant(`${name}/kernel`, kernel, [cin, out]), constant(`${name}/bias`, bias, [out])], {
        ...FLOAT,
        transpose_a: attr.bool(false),
        transpose_b: attr.bool(false),
        fused_ops: attr.strs(node.activation === 'linear' ? ['BiasAdd'] : ['BiasAdd', ACTIVATION_OPS[node.activation]!]),
        num_args: attr.int(1),
        epsilon: attr.float(0),
      });
    }
    case 'activation':
      return activation(node.fn, node.alpha, ins[0]!, name, e);
    case 'affine': {
      const shape = (v: Float32Array) => (v.length === 1 ? [] : [v.length]);
      const scaled = op(`${name}/scale`, 'Mul', [ins[0]!, constant(`${name}/scale_value`, node.scale, shape(node.scale))], FLOAT);
      return op(name, 'AddV2', [scaled, constant(`${name}/shift_value`, node.shift, shape(node.shift))], FLOAT);
    }
    case 'add':
    case 'mul':
    case 'max':
    case 'min':
    case 'mean': {
      const type = { add: 'AddV2', mul: 'Mul', max: 'Maximum', min: 'Minimum', mean: 'AddV2' }[node.op];
      let y = ins[0]!;
      for (let k = 1; k < ins.length; k++) y = op(k === ins.length - 1 && node.op !== 'mean' ? name : `${name}/${k}`, type, [y, ins[k]!], FLOAT);
      if (node.op === 'mean') y = op(name, 'Mul', [y, scalar(`${name}/share`, 1 / ins.length)], FLOAT);
      return activate(y, node.activation);
    }
    case 'concat':
      return op(name, 'ConcatV2', [...ins, ints(`${name}/axis`, [node.axis], [])], { ...FLOAT, N: attr.int(ins.length), Tidx: attr.type('int32') });
    case 'pad': {
      const [t, l, b, r] = node.pads;
      return op(name, 'Pad', [ins[0]!, ints(`${name}/paddings`, [0, 0, t, b, l, r, 0, 0], [4, 2])], { ...FLOAT, Tpaddings: attr.type('int32') });
    }
    case 'globalPool':
      return op(name, node.kind === 'avg' ? 'Mean' : 'Max', [ins[0]!, ints(`${name}/axes`, [1, 2])], { ...FLOAT, Tidx: attr.type('int32'), keep_dims: attr.bool(node.keepDims) });
    case 'pool': {
      const mode = paddingMode(inShape, node.size, node.strides, [1, 1], node.pads);
      if (mode === 'explicit') throw unsupported('pooling with padding other than TF\'s "same"');
      return op(name, node.kind === 'avg' ? 'AvgPool' : 'MaxPool', [ins[0]!], { ...FLOAT, ksize: attr.ints([1, ...node.size, 1]), strides: attr.ints([1, ...node.strides, 1]), padding: attr.str(mode.toUpperCase()), data_format: NHWC });
    }
    case 'reshape':
      return op(name, 'Reshape', [ins[0]!, ints(`${name}/shape`, [-1, ...(node.shape.slice(1) as number[])])], { ...FLOAT, Tshape: attr.type('int32') });
    case 'transpose':
      return op(name, 'Transpose', [ins[0]!, ints(`${name}/perm`, node.perm)], { ...FLOAT, Tperm: attr.type('int32') });
  }
}

/** Activations as TF ops; those tfjs-converter has no op for are written out (same formulas as tfjs-layers). */
function activation(fn: ActivationFn, alpha: number | undefined, x: string, name: string, { op, scalar }: Emitters): string {
  const known = ACTIVATION_OPS[fn];
  if (known) return op(name, known, [x], FLOAT);
  switch (fn) {
    case 'leakyRelu':
      return op(name, 'LeakyRelu', [x], { ...FLOAT, alpha: attr.float(alpha ?? 0.2) });
    case 'swish':
      return op(name, 'Mul', [x, op(`${name}/sigmoid`, 'Sigmoid', [x], FLOAT)], FLOAT);
    case 'softsign': {
      const denominator = op(`${name}/denominator`, 'AddV2', [op(`${name}/abs`, 'Abs', [x], FLOAT), scalar(`${name}/one`, 1)], FLOAT);
      return op(name, 'RealDiv', [x, denominator], FLOAT);
    }
    case 'hardSigmoid': {
      // Keras (and tfjs-layers): clip(0.2 x + 0.5, 0, 1).
      const y = op(`${name}/shift`, 'AddV2', [op(`${name}/scale`, 'Mul', [x, scalar(`${name}/slope`, 0.2)], FLOAT), scalar(`${name}/half`, 0.5)], FLOAT);
      return op(name, 'ClipByValue', [y, scalar(`${name}/zero`, 0), scalar(`${name}/one`, 1)], FLOAT);
    }
    default:
      throw new UnsupportedLayerError(`"${name}" (activation)`, `the activation ${fn}`, 'TF.js');
  }
}
