// ONNX (opset 13) written by our own writer, loaded back with stock onnxruntime-node.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { graphToOnnx } from '../../onnx';
import type { ModelFormat, Runner } from './types';

export const onnxFormat: ModelFormat = {
  id: 'onnx',
  modelFile: 'model.onnx',
  inputName: 'pixels',
  outputName: 'probabilities',
  async write(dir, graph, meta) {
    const bytes = graphToOnnx(graph, {
      inputName: this.inputName,
      outputName: this.outputName,
      producerVersion: meta.appVersion,
      docString: `Foldwise image classifier (${meta.backbone.name}). Input: RGB 0-255 NHWC. Output: probabilities for ${meta.labels.join(', ')}.`,
      // Runtimes show these as custom metadata, so the labels travel with the file itself.
      metadata: { labels: JSON.stringify(meta.labels), recipe: JSON.stringify(meta.recipe), backbone: meta.backbone.id },
    });
    await fs.promises.writeFile(path.join(dir, this.modelFile), bytes);
    return [this.modelFile];
  },
  async load(dir) {
    return loadOnnxRunner(path.join(dir, this.modelFile));
  },
};

export async function loadOnnxRunner(file: string): Promise<Runner> {
  const bytes = await fs.promises.readFile(file);
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  const [, height, width, channels] = onnxInputShape(bytes);
  return {
    runtime: 'onnxruntime-node',
    inputSize: height!,
    async run(pixels, n) {
      const result = await session.run({ [input]: new ort.Tensor('float32', pixels, [n, height!, width!, channels!]) });
      const y = result[output]!;
      const data = new Float32Array(y.data as Float32Array);
      y.dispose();
      return data;
    },
    dispose: () => void session.release(),
  };
}

/** The declared shape of the model's first input ([N, H, W, C] for Foldwise models; -1 for the batch). */
export function onnxInputShape(bytes: Uint8Array): number[] {
  const input = onnx.ModelProto.decode(bytes).graph?.input?.[0];
  const dims = input?.type?.tensorType?.shape?.dim ?? [];
  const shape = dims.map((d) => (d.dimValue === undefined || d.dimValue === null ? -1 : Number(d.dimValue)));
  if (shape.length !== 4 || shape.slice(1).some((d) => d <= 0)) {
    throw new Error(`This ONNX model takes input of shape [${shape.join(', ')}]; Foldwise models take images [N, height, width, 3].`);
  }
  return shape;
}
