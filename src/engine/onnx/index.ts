// Writes ONNX models (opset 13) without any converter tool, from the one export graph
// (src/engine/export/graph): batch norms and paddings arrive folded, and each graph op becomes a
// few ONNX nodes (emit.ts). The ONNX model takes the same NHWC input as the TF.js model.
import type * as tf from '@tensorflow/tfjs';
import { graphFromModel, type ExportGraph } from '../export/graph';
import { OnnxEmitter, mirror, scaleAndOffset } from './emit';
import { OnnxGraph } from './graph';

export { UnsupportedLayerError } from '../export/graph';

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

/** Serialized ONNX ModelProto for `model` (one input, one output). */
export function layersModelToOnnx(model: tf.LayersModel, opts: OnnxExportOptions = {}): Uint8Array {
  return graphToOnnx(graphFromModel(model).graph, opts);
}

/** Serialized ONNX ModelProto for an export graph: preprocessing, then the body (averaged with its mirror when the graph says so). */
export function graphToOnnx(graph: ExportGraph, opts: OnnxExportOptions = {}): Uint8Array {
  const g = new OnnxGraph();
  const inputName = g.reserve(opts.inputName ?? 'pixels');
  const outputName = g.reserve(opts.outputName ?? 'output');
  const image = graph.inputShape.length === 4;

  let x = inputName;
  if (image) x = g.node('Transpose', [x], 'input/to_nchw', { perm: [0, 3, 1, 2] });
  if (opts.preprocessing) x = scaleAndOffset(g, x, opts.preprocessing.scale, opts.preprocessing.offset, 'preprocessing');
  if (graph.preprocessing) x = scaleAndOffset(g, x, graph.preprocessing.scale, graph.preprocessing.offset, 'preprocess');

  const emitter = new OnnxEmitter(g);
  let y: string;
  if (graph.mirrorAverage) {
    if (!image) throw new Error('Only image inputs can be mirrored');
    const views = [emitter.body(graph, x), emitter.body(graph, mirror(g, x))];
    y = g.node('Mul', [g.node('Add', views, 'mean_of_photo_and_mirror'), g.floats('mean_of_photo_and_mirror/half', [0.5], [])], 'mean_of_photo_and_mirror');
  } else {
    y = emitter.body(graph, x);
  }
  const outputShape = graph.nodes[graph.output]!.shape;
  if (outputShape.length === 4) y = g.node('Transpose', [y], 'output/to_nhwc', { perm: [0, 2, 3, 1] });
  g.node('Identity', [y], 'output', {}, outputName);

  return g.toBytes({
    graphName: graph.name,
    inputs: [{ name: inputName, shape: graph.inputShape }],
    outputs: [{ name: outputName, shape: outputShape }],
    opset: opts.opset ?? 13,
    producerName: 'foldwise',
    producerVersion: opts.producerVersion ?? '0',
    docString: opts.docString,
    metadata: opts.metadata,
  });
}
