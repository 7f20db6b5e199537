// The one place where layers are merged for export, so every format gets the same arithmetic:
//   - a batch norm (per-channel affine) after a convolution goes into its filter and bias
//     (on tfjs-wasm the 52 batch norms of MobileNetV2 took ~40% of the time, more than the convolutions);
//   - zero padding before a convolution becomes the convolution's own pads;
//   - relu / relu6 after a convolution, dense layer or add becomes its fused activation;
//   - a leading scalar x*scale+offset (the backbone's Rescaling) becomes the graph's preprocessing.
// Each merge happens only where the merged node has no other reader, so nothing else changes.
import { readerCounts, type ExportGraph, type GraphNode } from './types';

export interface Folded {
  batchNorms: number;
  paddings: number;
  activations: number;
}

/** Folds in place-free style: returns a new graph with merged nodes removed and ids renumbered. */
export function foldGraph(graph: ExportGraph): { graph: ExportGraph; folded: Folded } {
  const nodes = graph.nodes.map((n) => ({ ...n }) as GraphNode);
  const replaced = new Map<number, number>(); // removed node id -> the node that now stands for it
  const resolve = (id: number): number => {
    while (replaced.has(id)) id = replaced.get(id)!;
    return id;
  };
  const folded: Folded = { batchNorms: 0, paddings: 0, activations: 0 };
  // Folded weights are shared again when the same layer pair was used twice (the photo and its mirror).
  const memo = new Map<Float32Array, Map<Float32Array, { filter: Float32Array; bias: Float32Array }>>();
  let output = graph.output;

  const readers = () => {
    const live = nodes.filter((n) => !replaced.has(n.id)).map((n) => ({ ...n, inputs: n.inputs.map(resolve) }) as GraphNode);
    return readerCounts({ ...graph, nodes: live, output: resolve(output) });
  };
  let reads = readers();
  for (const node of nodes) {
    if (replaced.has(node.id)) continue;
    node.inputs = node.inputs.map(resolve);
    const source = node.inputs.length === 1 ? nodes[node.inputs[0]!]! : null;
    const sole = source !== null && reads.get(source.id) === 1;

    if (node.op === 'affine' && sole && (source.op === 'conv2d' || source.op === 'depthwiseConv2d') && source.activation === 'linear') {
      const channels = source.bias.length;
      if (node.scale.length === channels || node.scale.length === 1) {
        let cached = memo.get(source.filter)?.get(node.scale);
        if (!cached) {
          // Output channel is the fastest-moving index of a depthwise filter and the slowest of an OHWI one.
          const filter = new Float32Array(source.filter.length);
          const per = source.filter.length / channels;
          const at = (k: number) => (node.scale.length === 1 ? 0 : source.op === 'conv2d' ? Math.floor(k / per) : k % channels);
          for (let k = 0; k < filter.length; k++) filter[k] = source.filter[k]! * node.scale[at(k)]!;
          const bias = new Float32Array(channels);
          for (let c = 0; c < channels; c++) {
            const s = node.scale[node.scale.length === 1 ? 0 : c]!;
            bias[c] = source.bias[c]! * s + node.shift[node.shift.length === 1 ? 0 : c]!;
          }
          cached = { filter, bias };
          if (!memo.has(source.filter)) memo.set(source.filter, new Map());
          memo.get(source.filter)!.set(node.scale, cached);
        }
        source.filter = cached.filter;
        source.bias = cached.bias;
        source.name = node.name; // the merged node answers to the later name (MobileNet's "..._bn")
        merge(node, source);
        folded.batchNorms++;
        continue;
      }
    }

    if ((node.op === 'conv2d' || node.op === 'depthwiseConv2d') && sole && source.op === 'pad') {
      node.pads = node.pads.map((p, i) => p + source.pads[i]!) as typeof node.pads;
      node.inputs = [source.inputs[0]!];
      replaced.set(source.id, source.inputs[0]!);
      folded.paddings++;
      reads = readers();
      continue;
    }

    if (node.op === 'activation' && (node.fn === 'relu' || node.fn === 'relu6') && sole) {
      const fusable = source.op === 'conv2d' || source.op === 'depthwiseConv2d' || source.op === 'dense' || source.op === 'add';
      if (fusable && source.activation === 'linear') {
        source.activation = node.fn;
        merge(node, source);
        folded.activations++;
        continue;
      }
    }
  }

  function merge(gone: GraphNode, into: GraphNode) {
    into.shape = gone.shape;
    replaced.set(gone.id, into.id);
    if (output === gone.id) output = into.id;
    reads = readers();
  }

  return { graph: renumber({ ...graph, nodes, output: resolve(output) }, replaced), folded };
}

/** Drops replaced nodes and numbers the rest 0..n-1 in order. */
function renumber(graph: ExportGraph, replaced: Map<number, number>): ExportGraph {
  const kept = graph.nodes.filter((n) => !replaced.has(n.id));
  const index = new Map(kept.map((n, i) => [n.id, i]));
  const resolve = (id: number) => {
    while (replaced.has(id)) id = replaced.get(id)!;
    return index.get(id)!;
  };
  return {
    ...graph,
    nodes: kept.map((n) => ({ ...n, id: index.get(n.id)!, inputs: n.inputs.map(resolve) }) as GraphNode),
    output: resolve(graph.output),
  };
}

/** Moves a leading scalar x*scale+offset (read only by the next node) into the graph's preprocessing. */
export function hoistPreprocessing(graph: ExportGraph): ExportGraph {
  if (graph.preprocessing) return graph;
  const reads = readerCounts(graph);
  const first = graph.nodes.find((n) => n.inputs.length === 1 && n.inputs[0] === 0);
  if (!first || first.op !== 'affine' || first.scale.length !== 1 || first.shift.length !== 1 || reads.get(0) !== 1) return graph;
  const replaced = new Map([[first.id, 0]]);
  const out = renumber({ ...graph, nodes: graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map((i) => (i === first.id ? 0 : i)) }) as GraphNode) }, replaced);
  return { ...out, preprocessing: { scale: first.scale[0]!, offset: first.shift[0]! } };
}
