// About how much disk an export takes, so it can refuse a disk that is too full before writing and
// verifying (one statfs call). Measured on mobilenet_v1_025 and v2_035 exports of every format, with
// and without the mirror: the model file is the graph's float32 weights as the format stores them
// (plus 20-50 kB of structure), the samples are photos copied as they are, and the usage files are
// their text or the file they copy (TF.js's demo page copies tf.min.js, about 1.5 MB).
import fs from 'node:fs';
import type { ExportFormat } from '../../shared/types';
import type { ExportGraph } from './graph';
import type { UsageFile } from './snippets';

/** Model structure, metadata, model card, confusion matrix, expected samples: measured 20-70 kB. */
const STRUCTURE_AND_DOCUMENTS = 128 * 1024;

/** Bytes of every float weight in the graph (float32). */
export function graphWeightBytes(graph: ExportGraph): number {
  let bytes = 0;
  for (const node of graph.nodes) {
    for (const value of Object.values(node)) if (value instanceof Float32Array) bytes += value.byteLength;
  }
  return bytes;
}

/** The model file: the weights as the format stores them, and the mirror where it is a layer of its own. */
function modelBytes(graph: ExportGraph, format: ExportFormat): number {
  const weights = graphWeightBytes(graph);
  const side = Number(graph.inputShape[1] ?? 0);
  // TF.js mirrors with a Dense permutation and Core ML with a reversed-identity convolution: side x side floats.
  const mirror = graph.mirrorAverage && (format === 'tfjs' || format === 'coreml') ? side * side * 4 : 0;
  if (format === 'tflite-fp16') return weights / 2;
  if (format === 'tflite-int8') return weights / 4 + weights / 16; // int8 weights, int32 biases and the float head, generously
  if (format === 'coreml' && graph.mirrorAverage) return 2 * weights + mirror; // Core ML layers cannot share weights: the body is written twice
  return weights + mirror;
}

const sizeOf = (file: string) => fs.promises.stat(file).then((s) => s.size, () => 0);

/** The export's size: model file, the photos it copies as samples (the largest `sampleCount` of those given), usage files and documents. */
export async function estimateExportBytes(
  graph: ExportGraph,
  format: ExportFormat,
  args: { samplePhotos: readonly string[]; sampleCount: number; usage: readonly UsageFile[] },
): Promise<number> {
  const photos = await Promise.all(args.samplePhotos.map(sizeOf));
  const samples = photos.sort((a, b) => b - a).slice(0, args.sampleCount).reduce((sum, s) => sum + s, 0);
  const usage = await Promise.all(args.usage.map((u) => (typeof u.contents === 'string' ? Buffer.byteLength(u.contents) : sizeOf(u.contents.copyFrom))));
  return Math.ceil(modelBytes(graph, format) * 1.05) + samples + usage.reduce((sum, s) => sum + s, 0) + STRUCTURE_AND_DOCUMENTS;
}
