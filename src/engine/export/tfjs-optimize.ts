// Makes the exported TF.js model cheaper to run without changing what it computes, the way the ONNX
// writer already does for its graph. Stock Keras backbones (MobileNet, EfficientNet ...) keep
// training-time layers that cost at inference:
//   - BatchNormalization after a convolution: folded into the convolution's weights and bias
//     (on tfjs-wasm the 52 batch norms of MobileNetV2 took ~40% of the time, more than the convolutions);
//   - ZeroPadding2D before a 'valid' convolution that pads exactly as 'same' would: the convolution
//     pads by itself (tfjs-wasm's separate PadV2 copies every activation once more).
// The result is still a plain layers model (Conv2D, DepthwiseConv2D ... with stock configs) that stock
// @tensorflow/tfjs loads. It works on the saved artifacts (topology JSON + weights by name), so the
// written model.json is exactly what the optimizer produced; export then reloads and verifies it.
import * as tf from '@tensorflow/tfjs';

export interface LayersArtifacts {
  modelTopology: Record<string, unknown>;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  format?: string;
  generatedBy?: string;
}

export interface Optimized {
  artifacts: LayersArtifacts;
  /** How many layers were merged into a neighbouring convolution. */
  folded: { batchNorms: number; paddings: number };
}

/** [layer name, node index, tensor index, kwargs?] as Keras writes inbound nodes and model outputs. */
type Ref = [string, number, number, ...unknown[]];
interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown> & { layers?: LayerJson[]; input_layers?: Ref[]; output_layers?: Ref[] };
  inbound_nodes: Ref[][];
}

const CONVOLUTIONS = new Set(['Conv2D', 'DepthwiseConv2D']);
const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** The model's saved form (what model.save would write), with its cheap-to-fold layers folded. */
export async function optimizedArtifacts(model: tf.LayersModel): Promise<Optimized> {
  const artifacts = await saveToMemory(model);
  const folded = { batchNorms: 0, paddings: 0 };
  const weights = splitWeights(artifacts);
  if (!weights) return { artifacts, folded }; // quantized or string weights: leave the model as it is
  const topology = structuredClone(artifacts.modelTopology) as { config?: LayerJson['config']; model_config?: { config: LayerJson['config'] } };
  const root = topology.model_config?.config ?? topology.config;
  if (root?.layers) {
    const inputShapes = liveInputShapes(model);
    forEachGraph(root, (graph) => {
      folded.paddings += foldPaddings(graph, inputShapes);
      folded.batchNorms += foldBatchNorms(graph, weights);
    });
  }
  if (folded.batchNorms + folded.paddings === 0) return { artifacts, folded };
  return { artifacts: { ...artifacts, modelTopology: topology as Record<string, unknown>, ...joinWeights(weights) }, folded };
}

async function saveToMemory(model: tf.LayersModel): Promise<LayersArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = saved as unknown as tf.io.ModelArtifacts;
  const data = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.concatenateArrayBuffers(Array.isArray(a.weightData) ? a.weightData : [a.weightData]);
  return { modelTopology: a.modelTopology as Record<string, unknown>, weightSpecs: a.weightSpecs ?? [], weightData: data, format: a.format, generatedBy: a.generatedBy };
}

/** Weights by name, in saved order; float32 ones as Float32Array. Null when some weight cannot be split safely. */
type Weight = { spec: tf.io.WeightsManifestEntry; bytes: Uint8Array };
function splitWeights(a: LayersArtifacts): Map<string, Weight> | null {
  const out = new Map<string, Weight>();
  let offset = 0;
  for (const spec of a.weightSpecs) {
    const per = BYTES[spec.dtype];
    if (!per || spec.quantization || out.has(spec.name)) return null;
    const length = spec.shape.reduce((p, d) => p * d, 1) * per;
    out.set(spec.name, { spec, bytes: new Uint8Array(a.weightData, offset, length) });
    offset += length;
  }
  return offset === a.weightData.byteLength ? out : null;
}

function joinWeights(weights: Map<string, Weight>): { weightSpecs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer } {
  const all = [...weights.values()];
  const data = new Uint8Array(all.reduce((s, w) => s + w.bytes.byteLength, 0));
  let offset = 0;
  for (const w of all) {
    data.set(w.bytes, offset);
    offset += w.bytes.byteLength;
  }
  return { weightSpecs: all.map((w) => w.spec), weightData: data.buffer };
}

const floats = (w: Weight | undefined): Float32Array | null =>
  w && w.spec.dtype === 'float32' ? new Float32Array(w.bytes.buffer.slice(w.bytes.byteOffset, w.bytes.byteOffset + w.bytes.byteLength)) : null;

/**
 * Calls `visit` on the model's graph and on every nested functional model inside it (e.g. the backbone
 * trunk). Sequential models (a list of layers without wiring) are looked into but left as they are.
 */
function forEachGraph(graph: LayerJson['config'], visit: (g: LayerJson['config']) => void): void {
  for (const layer of graph.layers ?? []) if (Array.isArray(layer.config?.layers)) forEachGraph(layer.config, visit);
  const functional = Array.isArray(graph.output_layers) && (graph.layers ?? []).every((l) => Array.isArray(l.inbound_nodes));
  if (functional) visit(graph);
}

/** Input shapes of every layer of the live model (nested models included) that was called exactly once. */
function liveInputShapes(model: tf.LayersModel): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const walk = (m: tf.LayersModel) => {
    for (const layer of m.layers) {
      if (layer instanceof tf.LayersModel) walk(layer);
      const nodes = (layer as unknown as { inboundNodes: { inputTensors: tf.SymbolicTensor[] }[] }).inboundNodes;
      if (nodes.length !== 1 || nodes[0]!.inputTensors.length !== 1) continue;
      shapes.set(layer.name, nodes[0]!.inputTensors[0]!.shape as number[]);
    }
  };
  walk(model);
  return shapes;
}

/** Who reads each layer's output inside one graph (model outputs count as readers). */
function readers(graph: LayerJson['config']): Map<string, number> {
  const count = new Map<string, number>();
  const add = (ref: Ref) => count.set(ref[0], (count.get(ref[0]) ?? 0) + 1);
  for (const layer of graph.layers ?? []) for (const node of layer.inbound_nodes) node.forEach(add);
  (graph.output_layers ?? []).forEach(add);
  return count;
}

/** The single layer feeding `layer` through its only call, when that is the whole story. */
function soleInput(graph: LayerJson['config'], layer: LayerJson): LayerJson | null {
  if (layer.inbound_nodes.length !== 1 || layer.inbound_nodes[0]!.length !== 1) return null;
  const [name, node, tensor] = layer.inbound_nodes[0]![0]!;
  if (node !== 0 || tensor !== 0) return null;
  const source = graph.layers!.find((l) => l.name === name);
  return source && source.inbound_nodes.length === 1 ? source : null;
}

/** Removes `gone` from the graph; whatever read it reads `instead` (node 0, tensor 0 of both). */
function bypass(graph: LayerJson['config'], gone: LayerJson, instead: string): void {
  graph.layers = graph.layers!.filter((l) => l !== gone);
  const redirect = (ref: Ref) => {
    if (ref[0] === gone.name) ref[0] = instead;
  };
  for (const layer of graph.layers) for (const node of layer.inbound_nodes) node.forEach(redirect);
  (graph.output_layers ?? []).forEach(redirect);
}

function pair(v: unknown): [number, number] | null {
  if (typeof v === 'number') return [v, v];
  return Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number') ? [v[0] as number, v[1] as number] : null;
}

/** TensorFlow's 'same' padding (before, after) for one spatial axis; tfjs pads the same way. */
function samePadding(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function foldPaddings(graph: LayerJson['config'], inputShapes: Map<string, number[]>): number {
  let folded = 0;
  const reads = readers(graph);
  for (const conv of [...graph.layers!]) {
    if (!CONVOLUTIONS.has(conv.class_name) || conv.config.padding !== 'valid') continue;
    const pad = soleInput(graph, conv);
    if (!pad || pad.class_name !== 'ZeroPadding2D' || reads.get(pad.name) !== 1) continue;
    if ((pad.config.data_format ?? 'channels_last') !== 'channels_last' || (conv.config.data_format ?? 'channels_last') !== 'channels_last') continue;
    const shape = inputShapes.get(pad.name);
    const kernel = pair(conv.config.kernel_size);
    const strides = pair(conv.config.strides ?? 1);
    const dilation = pair(conv.config.dilation_rate ?? 1);
    const padding = pad.config.padding as unknown;
    const given = Array.isArray(padding) && padding.length === 2 ? padding.map(pair) : null;
    if (!shape || shape.length !== 4 || !kernel || !strides || !dilation || !given || given.some((p) => p === null)) continue;
    const same = [0, 1].map((axis) => samePadding(shape[axis + 1]!, kernel[axis]!, strides[axis]!, dilation[axis]!));
    if (same.some((p, axis) => p[0] !== given[axis]![0] || p[1] !== given[axis]![1])) continue;
    // The convolution reads what the padding read, and pads by itself.
    conv.inbound_nodes = structuredClone(pad.inbound_nodes);
    conv.config.padding = 'same';
    graph.layers = graph.layers!.filter((l) => l !== pad);
    folded++;
  }
  return folded;
}

function foldBatchNorms(graph: LayerJson['config'], weights: Map<string, Weight>): number {
  let folded = 0;
  const reads = readers(graph);
  for (const bn of [...graph.layers!]) {
    if (bn.class_name !== 'BatchNormalization') continue;
    const conv = soleInput(graph, bn);
    if (!conv || !CONVOLUTIONS.has(conv.class_name) || reads.get(conv.name) !== 1) continue;
    if ((conv.config.activation ?? 'linear') !== 'linear' || (conv.config.data_format ?? 'channels_last') !== 'channels_last') continue;
    const axis = bn.config.axis;
    if (axis !== -1 && axis !== 3 && !(Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === 3))) continue;
    const kernelName = `${conv.name}/${conv.class_name === 'Conv2D' ? 'kernel' : 'depthwise_kernel'}`;
    const kernel = floats(weights.get(kernelName));
    const bias = conv.config.use_bias ? floats(weights.get(`${conv.name}/bias`)) : null;
    const mean = floats(weights.get(`${bn.name}/moving_mean`));
    const variance = floats(weights.get(`${bn.name}/moving_variance`));
    const gamma = bn.config.scale === false ? null : floats(weights.get(`${bn.name}/gamma`));
    const beta = bn.config.center === false ? null : floats(weights.get(`${bn.name}/beta`));
    const epsilon = typeof bn.config.epsilon === 'number' ? bn.config.epsilon : 1e-3;
    const channels = mean?.length ?? 0;
    if (!kernel || !mean || !variance || variance.length !== channels || kernel.length % channels !== 0) continue;
    if ((conv.config.use_bias && bias?.length !== channels) || (bn.config.scale !== false && gamma?.length !== channels) || (bn.config.center !== false && beta?.length !== channels)) continue;
    // Output channel c of either convolution is the fastest-moving index of its kernel
    // (Conv2D [h, w, in, out]; DepthwiseConv2D [h, w, in, multiplier], output c = in * multiplier + m).
    const scale = new Float64Array(channels);
    const newBias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      scale[c] = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + epsilon);
      newBias[c] = ((bias ? bias[c]! : 0) - mean[c]!) * scale[c]! + (beta ? beta[c]! : 0);
    }
    const newKernel = new Float32Array(kernel.length);
    for (let k = 0; k < kernel.length; k++) newKernel[k] = kernel[k]! * scale[k % channels]!;
    const kernelSpec = weights.get(kernelName)!.spec;
    weights.set(kernelName, { spec: kernelSpec, bytes: new Uint8Array(newKernel.buffer) });
    weights.set(`${conv.name}/bias`, { spec: { name: `${conv.name}/bias`, shape: [channels], dtype: 'float32' }, bytes: new Uint8Array(newBias.buffer) });
    for (const w of ['gamma', 'beta', 'moving_mean', 'moving_variance']) weights.delete(`${bn.name}/${w}`);
    conv.config.use_bias = true;
    conv.config.bias_initializer ??= { class_name: 'Zeros', config: {} };
    bypass(graph, bn, conv.name);
    folded++;
  }
  return folded;
}
