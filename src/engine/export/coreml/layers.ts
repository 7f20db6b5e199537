// The export graph's body as Core ML NeuralNetwork layers (classic, CHW blobs): one or two layers per
// graph node, in graph order. Weight layouts move from the graph's TFLite ones to Core ML's:
//   conv2d           OHWI               -> [outputChannels, kernelChannels, kh, kw]
//   depthwiseConv2d  [1, kh, kw, C*M]   -> [C*M, 1, kh, kw], nGroups = C
//   dense            [out, in]          -> innerProduct [out, in] (a 1x1 convolution on images)
import { UnsupportedLayerError, type ActivationFn, type ExportGraph, type FusedActivation, type GraphNode, type Pads, type Shape } from '../graph';

/** One NeuralNetworkLayer message: name, input, output and exactly one layer kind (e.g. `convolution`). */
export type Layer = { name: string; input: string[]; output: string[] } & Record<string, unknown>;

const WRITER = 'Core ML';
const weights = (values: ArrayLike<number>) => ({ floatValue: Array.from(values) });
/** ValidPadding with explicit amounts: [top, left, bottom, right] -> height, then width. */
const padding = (pads: Pads) => ({
  paddingAmounts: { borderAmounts: [{ startEdgeSize: pads[0], endEdgeSize: pads[2] }, { startEdgeSize: pads[1], endEdgeSize: pads[3] }] },
});

const NOT_KINDS = new Set(['name', 'input', 'output', 'inputTensor', 'outputTensor', 'isUpdatable', 'layer']);

/** The layer kind of a layer message: its `layer` oneof (as decoded), or its one field besides name, input and output. */
export function layerKind(layer: Layer): string {
  if (typeof layer.layer === 'string') return layer.layer;
  return Object.keys(layer).find((k) => !NOT_KINDS.has(k) && layer[k] !== undefined)!;
}

function ohwiToOihw(filter: Float32Array, [o, h, w, i]: [number, number, number, number]): Float32Array {
  const out = new Float32Array(filter.length);
  for (let a = 0; a < o; a++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < i; c++) out[((a * i + c) * h + y) * w + x] = filter[((a * h + y) * w + x) * i + c]!;
  return out;
}

function depthwiseToOihw(filter: Float32Array, [, h, w, o]: [1, number, number, number]): Float32Array {
  const out = new Float32Array(filter.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < o; c++) out[(c * h + y) * w + x] = filter[(y * w + x) * o + c]!;
  return out;
}

/** Layers that compute `fn` from blob `input` into blob `output` (two for swish and selu, which Core ML lacks). */
function activation(fn: ActivationFn | FusedActivation, input: string, output: string, alpha?: number): Layer[] {
  const one = (kind: Record<string, unknown>): Layer[] => [{ name: output, input: [input], output: [output], ...kind }];
  switch (fn) {
    case 'linear':
      return one({ activation: { linear: { alpha: 1, beta: 0 } } });
    case 'relu':
      return one({ activation: { ReLU: {} } });
    case 'relu6': // the clip layer: Core ML specification version 4 and later
      return one({ clip: { minVal: 0, maxVal: 6 } });
    case 'sigmoid':
      return one({ activation: { sigmoid: {} } });
    case 'tanh':
      return one({ activation: { tanh: {} } });
    case 'softmax': // over the channel axis, the last Keras axis
      return one({ softmax: {} });
    case 'elu':
      return one({ activation: { ELU: { alpha: 1 } } });
    case 'softplus':
      return one({ activation: { softplus: {} } });
    case 'softsign':
      return one({ activation: { softsign: {} } });
    case 'hardSigmoid': // TF.js: clip(0.2 x + 0.5, 0, 1)
      return one({ activation: { sigmoidHard: { alpha: 0.2, beta: 0.5 } } });
    case 'leakyRelu':
      return one({ activation: { leakyReLU: { alpha: alpha ?? 0.3 } } });
    case 'selu': // scale * elu(x, alpha), TensorFlow's constants
      return [
        { name: `${output}/elu`, input: [input], output: [`${output}/elu`], activation: { ELU: { alpha: 1.6732632423543772 } } },
        { name: output, input: [`${output}/elu`], output: [output], scale: { shapeScale: [1], scale: weights([1.0507009873554805]) } },
      ];
    case 'swish': // x * sigmoid(x)
      return [
        { name: `${output}/sigmoid`, input: [input], output: [`${output}/sigmoid`], activation: { sigmoid: {} } },
        { name: output, input: [input, `${output}/sigmoid`], output: [output], multiply: {} },
      ];
  }
}

/** A layer into `output`, followed by its fused activation when it has one. */
function withActivation(layer: Record<string, unknown>, inputs: string[], output: string, fn: FusedActivation): Layer[] {
  if (fn === 'linear') return [{ name: output, input: inputs, output: [output], ...layer }];
  const raw = `${output}/${fn === 'relu6' ? 'before_relu6' : 'before_relu'}`;
  return [{ name: raw, input: inputs, output: [raw], ...layer }, ...activation(fn, raw, output)];
}

const spatialOne = (shape: Shape) => shape.slice(1, -1).every((d) => d === 1);

/**
 * Layers for one graph node reading `inputs` (blob names) into blob `output`. Returns null for a node
 * that is only a different view of its input in Core ML's CHW blobs (a reshape between [1, 1, C] and [C]).
 */
function nodeLayers(node: GraphNode, inputShape: Shape, inputs: string[], output: string): Layer[] | null {
  switch (node.op) {
    case 'input':
      return null;
    case 'conv2d': {
      const [o, kh, kw, i] = node.filterShape;
      const convolution = {
        outputChannels: o,
        kernelChannels: i,
        nGroups: 1,
        kernelSize: [kh, kw],
        stride: node.strides,
        dilationFactor: node.dilations,
        valid: padding(node.pads),
        hasBias: true,
        weights: weights(ohwiToOihw(node.filter, node.filterShape)),
        bias: weights(node.bias),
      };
      return withActivation({ convolution }, inputs, output, node.activation);
    }
    case 'depthwiseConv2d': {
      const [, kh, kw, o] = node.filterShape;
      const channels = o / node.multiplier;
      const convolution = {
        outputChannels: o,
        kernelChannels: 1,
        nGroups: channels,
        kernelSize: [kh, kw],
        stride: node.strides,
        dilationFactor: node.dilations,
        valid: padding(node.pads),
        hasBias: true,
        weights: weights(depthwiseToOihw(node.filter, node.filterShape)),
        bias: weights(node.bias),
      };
      return withActivation({ convolution }, inputs, output, node.activation);
    }
    case 'dense': {
      const [out, inCount] = node.weightsShape;
      const hasBias = node.bias !== null;
      const bias = hasBias ? { bias: weights(node.bias!) } : {};
      // On [N, C] (or [N, 1, 1, C]) an inner product; on a real image Keras applies it per pixel: a 1x1 convolution.
      const layer =
        inputShape.length === 2 || spatialOne(inputShape)
          ? { innerProduct: { inputChannels: inCount, outputChannels: out, hasBias, weights: weights(node.weights), ...bias } }
          : { convolution: { outputChannels: out, kernelChannels: inCount, nGroups: 1, kernelSize: [1, 1], stride: [1, 1], dilationFactor: [1, 1], valid: padding([0, 0, 0, 0]), hasBias, weights: weights(node.weights), ...bias } };
      return withActivation(layer, inputs, output, node.activation);
    }
    case 'activation':
      return activation(node.fn, inputs[0]!, output, node.alpha);
    case 'affine': {
      const scale = { shapeScale: [node.scale.length], scale: weights(node.scale), hasBias: true, shapeBias: [node.shift.length], bias: weights(node.shift) };
      return [{ name: output, input: inputs, output: [output], scale }];
    }
    case 'add':
    case 'mul':
    case 'max':
    case 'min':
    case 'mean': {
      const kind = { add: 'add', mul: 'multiply', max: 'max', min: 'min', mean: 'average' }[node.op];
      return withActivation({ [kind]: {} }, inputs, output, node.activation);
    }
    case 'concat':
      if (node.axis !== inputShape.length - 1) throw new UnsupportedLayerError(`layer "${node.name}"`, `it joins along axis ${node.axis}; Core ML's concat layer joins channels only`, WRITER);
      return [{ name: output, input: inputs, output: [output], concat: { sequenceConcat: false } }];
    case 'pad':
      return [{ name: output, input: inputs, output: [output], padding: { constant: { value: 0 }, ...padding(node.pads) } }];
    case 'globalPool':
      return [{ name: output, input: inputs, output: [output], pooling: { type: node.kind === 'avg' ? 'AVERAGE' : 'MAX', globalPooling: true, kernelSize: [1, 1], stride: [1, 1], valid: padding([0, 0, 0, 0]) } }];
    case 'pool':
      return [
        {
          name: output,
          input: inputs,
          output: [output],
          // TF's average pooling divides by the pixels inside the image only.
          pooling: { type: node.kind === 'avg' ? 'AVERAGE' : 'MAX', kernelSize: node.size, stride: node.strides, valid: padding(node.pads), avgPoolExcludePadding: true },
        },
      ];
    case 'reshape': {
      const channels = (s: Shape) => s[s.length - 1];
      if (spatialOne(inputShape) && spatialOne(node.shape) && channels(inputShape) === channels(node.shape)) return null;
      throw new UnsupportedLayerError(`layer "${node.name}"`, `it reshapes [${inputShape.join(', ')}] to [${node.shape.join(', ')}], which Core ML's channel-first blobs cannot do the same way`, WRITER);
    }
    case 'transpose':
      throw new UnsupportedLayerError(`layer "${node.name}"`, 'Foldwise does not write transposes to Core ML', WRITER);
  }
}

/**
 * The graph's body reading blob `input` and ending in blob `output`; blob and layer names start with
 * `prefix/`, so the body can appear twice (photo and mirror).
 */
export function bodyLayers(graph: ExportGraph, prefix: string, input: string, output: string): Layer[] {
  const blobs = new Map<number, string>();
  const shapes = new Map(graph.nodes.map((n) => [n.id, n.shape]));
  const layers: Layer[] = [];
  for (const node of graph.nodes) {
    if (node.op === 'input') {
      blobs.set(node.id, input);
      continue;
    }
    const inputs = node.inputs.map((i) => blobs.get(i)!);
    const target = node.id === graph.output ? output : `${prefix}/${node.name}`;
    const written = nodeLayers(node, shapes.get(node.inputs[0]!) ?? [], inputs, target);
    if (written === null) {
      // The same data as its input: the input's blob stands for it, unless it is the answer (then a copy).
      if (node.id !== graph.output) {
        blobs.set(node.id, inputs[0]!);
        continue;
      }
      layers.push(...activation('linear', inputs[0]!, output));
    } else layers.push(...written);
    blobs.set(node.id, target);
  }
  return layers;
}

/** The photo's left-right mirror from classic layers: width to the channel axis, a reversed identity (1x1 convolution), width back. */
export function mirrorLayers(input: string, output: string, width: number): Layer[] {
  const reversed = new Float32Array(width * width);
  for (let o = 0; o < width; o++) reversed[o * width + (width - 1 - o)] = 1;
  // [C, H, W] -> [W, H, C] and back: axis order of (Seq, C, H, W).
  const swap = { axis: [0, 3, 2, 1] };
  return [
    { name: `${output}/width_first`, input: [input], output: [`${output}/width_first`], permute: swap },
    {
      name: `${output}/reversed`,
      input: [`${output}/width_first`],
      output: [`${output}/reversed`],
      convolution: { outputChannels: width, kernelChannels: width, nGroups: 1, kernelSize: [1, 1], stride: [1, 1], dilationFactor: [1, 1], valid: padding([0, 0, 0, 0]), hasBias: false, weights: weights(reversed) },
    },
    { name: output, input: [`${output}/reversed`], output: [output], permute: swap },
  ];
}
