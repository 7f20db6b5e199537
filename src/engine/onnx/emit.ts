// Writes an ExportGraph as ONNX nodes. Rank-4 values live in ONNX as NCHW (what Conv and pooling
// take); every other rank keeps the Keras layout. Weights are converted once per array, so a body
// written twice (the photo and its mirror) shares its initializers.
import type { ExportGraph, FusedActivation, GraphNode, Shape } from '../export/graph';
import { UnsupportedLayerError } from '../export/graph';
import type { OnnxGraph } from './graph';

export class OnnxEmitter {
  private readonly converted = new Map<Float32Array, Float32Array>();
  private readonly initializers = new Map<string, string>();
  private readonly arrayIds = new Map<Float32Array, number>();

  constructor(readonly g: OnnxGraph) {}

  /** A float initializer, once per (array, dims). */
  floats(hint: string, data: Float32Array, dims: number[]): string {
    if (!this.arrayIds.has(data)) this.arrayIds.set(data, this.arrayIds.size);
    const key = `${this.arrayIds.get(data)}:${dims.join(',')}`;
    let name = this.initializers.get(key);
    if (!name) {
      name = this.g.floats(hint, data, dims);
      this.initializers.set(key, name);
    }
    return name;
  }

  private convert(data: Float32Array, fn: (d: Float32Array) => Float32Array): Float32Array {
    let out = this.converted.get(data);
    if (!out) {
      out = fn(data);
      this.converted.set(data, out);
    }
    return out;
  }

  /** Emits the graph's body on `input` (an NCHW name for images); returns the output value's name. */
  body(graph: ExportGraph, input: string): string {
    const values: string[] = [];
    for (const node of graph.nodes) values[node.id] = node.op === 'input' ? input : this.node(graph, node, node.inputs.map((i) => values[i]!));
    return values[graph.output]!;
  }

  private node(graph: ExportGraph, node: GraphNode, inputs: string[]): string {
    const { g } = this;
    const hint = node.name;
    const inShape = (k = 0) => graph.nodes[node.inputs[k]!]!.shape;
    switch (node.op) {
      case 'conv2d': {
        const [o, kh, kw, i] = node.filterShape;
        const weight = this.convert(node.filter, (f) => {
          const w = new Float32Array(f.length);
          for (let a = 0; a < o; a++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < i; c++) w[((a * i + c) * kh + y) * kw + x] = f[((a * kh + y) * kw + x) * i + c]!;
          return w;
        });
        return this.conv(node, inputs[0]!, this.floats(`${hint}/kernel`, weight, [o, i, kh, kw]), 1, [kh, kw]);
      }
      case 'depthwiseConv2d': {
        const [, kh, kw, cm] = node.filterShape;
        const weight = this.convert(node.filter, (f) => {
          const w = new Float32Array(f.length);
          for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < cm; c++) w[(c * kh + y) * kw + x] = f[(y * kw + x) * cm + c]!;
          return w;
        });
        return this.conv(node, inputs[0]!, this.floats(`${hint}/kernel`, weight, [cm, 1, kh, kw]), cm / node.multiplier, [kh, kw]);
      }
      case 'dense': {
        const [out, cin] = node.weightsShape;
        if (inShape().length === 4) {
          // Over the channel axis, which ONNX stores at axis 1: a 1x1 convolution ([out, in, 1, 1] is [out, in] in memory).
          const args = [inputs[0]!, this.floats(`${hint}/kernel`, node.weights, [out, cin, 1, 1])];
          if (node.bias) args.push(this.floats(`${hint}/bias`, node.bias, [out]));
          return this.activate(g.node('Conv', args, hint, { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0] }), node.activation, hint);
        }
        const args = [inputs[0]!, this.floats(`${hint}/kernel`, node.weights, [out, cin])];
        if (node.bias) args.push(this.floats(`${hint}/bias`, node.bias, [out]));
        return this.activate(g.node('Gemm', args, hint, { transB: 1 }), node.activation, hint);
      }
      case 'activation':
        return this.activation(inputs[0]!, node.fn, node.shape, hint, node.alpha);
      case 'affine': {
        const dims = node.scale.length === 1 ? [] : node.shape.length === 4 ? [node.scale.length, 1, 1] : [node.scale.length];
        const mul = g.node('Mul', [inputs[0]!, this.floats(`${hint}/scale`, node.scale, dims)], hint);
        return g.node('Add', [mul, this.floats(`${hint}/shift`, node.shift, node.shift.length === 1 ? [] : dims)], hint);
      }
      case 'add':
      case 'mul':
      case 'max':
      case 'min':
      case 'mean': {
        const op = { add: 'Add', mean: 'Add', mul: 'Mul', max: 'Max', min: 'Min' }[node.op];
        let y = inputs.slice(1).reduce((acc, name) => g.node(op, [acc, name], hint), inputs[0]!);
        if (node.op === 'mean') y = g.node('Mul', [y, g.floats(`${hint}/share`, [1 / inputs.length], [])], hint);
        return this.activate(y, node.activation, hint);
      }
      case 'concat': {
        const axis = node.shape.length === 4 ? [0, 2, 3, 1][node.axis]! : node.axis; // NHWC axis -> NCHW axis
        return g.node('Concat', inputs, hint, { axis });
      }
      case 'pad': {
        const [top, left, bottom, right] = node.pads;
        return g.node('Pad', [inputs[0]!, g.ints('pads', [0, 0, top, left, 0, 0, bottom, right])], hint, { mode: 'constant' });
      }
      case 'globalPool': {
        const pooled = g.node(node.kind === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool', inputs, hint);
        return node.keepDims ? pooled : g.node('Flatten', [pooled], hint, { axis: 1 });
      }
      case 'pool': {
        // TF's 'same' average pooling divides by the pixels inside the image only: count_include_pad=0.
        const attributes = { kernel_shape: [...node.size], strides: [...node.strides], pads: [...node.pads], ...(node.kind === 'avg' ? { count_include_pad: 0 } : {}) };
        return g.node(node.kind === 'avg' ? 'AveragePool' : 'MaxPool', inputs, hint, attributes);
      }
      case 'reshape': {
        const out = node.shape;
        const x = kerasOrder(g, inputs[0]!, inShape(), hint);
        if (out.length === 4 && out[1] === 1 && out[2] === 1) {
          // [N,1,1,C] and [N,C,1,1] have the same memory order: one Reshape suffices.
          return g.node('Reshape', [x, g.ints('shape', [0, out[3]!, 1, 1])], hint);
        }
        const reshaped = g.node('Reshape', [x, g.ints('shape', [0, ...(out.slice(1) as number[])])], hint);
        return out.length === 4 ? g.node('Transpose', [reshaped], `${hint}/to_nchw`, { perm: [0, 3, 1, 2] }) : reshaped;
      }
      case 'transpose': {
        const p = node.perm;
        if (p.length !== 4) return g.node('Transpose', inputs, hint, { perm: p });
        // Rank 4 is stored as Keras axes [0, 3, 1, 2]; output Keras axis i is input axis p[i].
        const stored = (kerasAxis: number) => [0, 2, 3, 1][kerasAxis]!;
        return g.node('Transpose', inputs, hint, { perm: [p[0]!, p[3]!, p[1]!, p[2]!].map(stored) });
      }
      case 'input':
        return inputs[0]!;
    }
  }

  private conv(node: GraphNode & { bias: Float32Array; strides: [number, number]; dilations: [number, number]; pads: number[]; activation: FusedActivation }, x: string, weight: string, group: number, kernel: number[]): string {
    const bias = this.floats(`${node.name}/bias`, node.bias, [node.bias.length]);
    const y = this.g.node('Conv', [x, weight, bias], node.name, { kernel_shape: kernel, strides: [...node.strides], pads: [...node.pads], dilations: [...node.dilations], group });
    return this.activate(y, node.activation, node.name);
  }

  private activate(x: string, fn: FusedActivation, hint: string): string {
    if (fn === 'linear') return x;
    return fn === 'relu' ? this.g.node('Relu', [x], hint) : clip(this.g, x, 0, 6, hint);
  }

  private activation(x: string, fn: string, shape: Shape, hint: string, alpha?: number): string {
    const { g } = this;
    const simple: Record<string, string> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', elu: 'Elu', selu: 'Selu', softplus: 'Softplus', softsign: 'Softsign' };
    if (simple[fn]) return g.node(simple[fn], [x], hint);
    switch (fn) {
      case 'relu6':
        return clip(g, x, 0, 6, hint);
      case 'softmax':
        // Keras takes softmax over the last (channel) axis, which is axis 1 of an NCHW tensor.
        return g.node('Softmax', [x], hint, { axis: shape.length === 4 ? 1 : -1 });
      case 'hardSigmoid':
        return g.node('HardSigmoid', [x], hint, { alpha: { float: 0.2 }, beta: { float: 0.5 } });
      case 'swish':
        return g.node('Mul', [x, g.node('Sigmoid', [x], hint)], hint);
      case 'leakyRelu':
        return g.node('LeakyRelu', [x], hint, { alpha: { float: alpha ?? 0.3 } });
      default:
        throw new UnsupportedLayerError(`"${hint}"`, `activation "${fn}"`);
    }
  }
}

/** x*scale+offset with scalar constants, the way Keras Rescaling and the backbones' preprocessing do it. */
export function scaleAndOffset(g: OnnxGraph, x: string, scale: number, offset: number, hint: string): string {
  const scaled = g.node('Mul', [x, g.floats(`${hint}/scale`, [scale], [])], hint);
  return offset === 0 ? scaled : g.node('Add', [scaled, g.floats(`${hint}/offset`, [offset], [])], hint);
}

/** The image left-right mirrored: an exact reversed slice of the NCHW width axis. */
export function mirror(g: OnnxGraph, x: string): string {
  const int64Min = -(2 ** 63);
  return g.node('Slice', [x, g.ints('mirror/starts', [-1]), g.ints('mirror/ends', [int64Min]), g.ints('mirror/axes', [3]), g.ints('mirror/steps', [-1])], 'mirror');
}

function clip(g: OnnxGraph, x: string, min: number, max: number, hint: string): string {
  // Opset 13 Clip takes its bounds as inputs, not attributes.
  return g.node('Clip', [x, g.floats('clip_min', [min], []), g.floats('clip_max', [max], [])], hint);
}

/** The tensor in Keras memory order (NHWC for rank 4); 1x1 spatial needs no transpose. */
function kerasOrder(g: OnnxGraph, x: string, shape: Shape, hint: string): string {
  if (shape.length !== 4 || (shape[1] === 1 && shape[2] === 1)) return x;
  return g.node('Transpose', [x], `${hint}/to_nhwc`, { perm: [0, 2, 3, 1] });
}
