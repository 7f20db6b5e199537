// Writes a TF.js layers model as an ONNX model (opset 13) without any converter tool: the layer
// graph is walked from the outputs back, nested models are inlined, and each layer becomes a few
// ONNX nodes (see layers.ts). The ONNX model takes the same NHWC input as the TF.js model.
import type * as tf from '@tensorflow/tfjs';
import { OnnxGraph } from './graph';
import { converters, scaleAndOffset, UnsupportedLayerError } from './layers';
import { materialize, tensor, type Shape, type Value } from './values';

export { UnsupportedLayerError } from './layers';

export interface OnnxExportOptions {
  /** Name of the graph input; default 'pixels'. */
  inputName?: string;
  /** Name of the graph output; default 'output'. */
  outputName?: string;
  /** x*scale+offset applied to the input before the model, when the model does not do it itself. */
  preprocessing?: { scale: number; offset: number };
  /** Default 13. */
  opset?: number;
  producerVersion?: string;
  docString?: string;
  /** Written into the model's metadata_props (labels, recipe ...), visible to any ONNX runtime. */
  metadata?: Record<string, string>;
}

// What tfjs-layers keeps on symbolic tensors and layers, typed here because it is not exported.
interface GraphNode {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}
interface LayerInternals {
  inboundNodes: GraphNode[];
}
interface Container extends tf.layers.Layer {
  inputs: tf.SymbolicTensor[];
  outputs: tf.SymbolicTensor[];
}

/** Serialized ONNX ModelProto for `model` (one input, one output). */
export function layersModelToOnnx(model: tf.LayersModel, opts: OnnxExportOptions = {}): Uint8Array {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`ONNX export needs a model with one input and one output; this one has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const g = new OnnxGraph();
  const inputName = g.reserve(opts.inputName ?? 'pixels');
  const outputName = g.reserve(opts.outputName ?? 'output');
  const inputShape = model.inputs[0]!.shape;

  let x = inputName;
  if (inputShape.length === 4) x = g.node('Transpose', [x], 'input/to_nchw', { perm: [0, 3, 1, 2] });
  if (opts.preprocessing) x = scaleAndOffset(g, x, opts.preprocessing.scale, opts.preprocessing.offset, 'preprocessing');

  const [out] = convertContainer(g, model as unknown as Container, [tensor(x, inputShape)]);
  const outputShape = model.outputs[0]!.shape;
  let y = materialize(g, out!);
  if (outputShape.length === 4) y = g.node('Transpose', [y], 'output/to_nhwc', { perm: [0, 2, 3, 1] });
  g.node('Identity', [y], 'output', {}, outputName);

  return g.toBytes({
    graphName: model.name,
    inputs: [{ name: inputName, shape: inputShape }],
    outputs: [{ name: outputName, shape: outputShape }],
    opset: opts.opset ?? 13,
    producerName: 'foldwise',
    producerVersion: opts.producerVersion ?? '0',
    docString: opts.docString,
    metadata: opts.metadata,
  });
}

/** Converts the part of `container` that its outputs depend on, given values for its inputs. */
function convertContainer(g: OnnxGraph, container: Container, inputs: Value[]): Value[] {
  const known = new Map<number, Value>();
  container.inputs.forEach((t, i) => known.set(t.id, inputs[i]!));

  const valueOf = (t: tf.SymbolicTensor): Value => {
    const found = known.get(t.id);
    if (found) return found;
    const layer = t.sourceLayer as tf.layers.Layer;
    const node = (layer as unknown as LayerInternals).inboundNodes[t.nodeIndex];
    if (!node || layer.getClassName() === 'InputLayer') throw new Error(`Layer "${layer.name}" is not connected to the model's input`);
    const args = node.inputTensors.map(valueOf);
    const outputs = convertLayer(g, layer, args, node.outputTensors.map((o) => o.shape));
    node.outputTensors.forEach((o, i) => known.set(o.id, outputs[i]!));
    return known.get(t.id)!;
  };
  return container.outputs.map(valueOf);
}

function convertLayer(g: OnnxGraph, layer: tf.layers.Layer, inputs: Value[], outputShapes: Shape[]): Value[] {
  const nested = layer as Container;
  if (Array.isArray(nested.inputs) && Array.isArray(nested.outputs) && 'layers' in nested) {
    return convertContainer(g, nested, inputs);
  }
  const convert = converters[layer.getClassName()];
  if (!convert) throw new UnsupportedLayerError(layer, 'this layer type is not supported by the ONNX writer');
  const config = layer.getConfig() as Record<string, unknown>;
  return convert({ g, layer, config, inputs, outputShapes, hint: layer.name });
}
