// Runs inside a worker thread: the backbone on tfjs-wasm or onnxruntime, one batch at a time.
// Inference off the main thread keeps the main thread free to decode the next photos meanwhile.
import type { MessagePort } from 'node:worker_threads';
// Static imports for our own modules: the TypeScript worker runs through tsx's require hook, which
// dynamic import() bypasses. onnxruntime (a plain package) is imported only by the worker that uses
// it, so the wasm workers, the fallback when onnxruntime cannot start, never load its native library.
import { startWorkerBackend } from '../compute';
import { loadFeatureModel } from '../backbones/load';
import { modelToCut } from './activations';
import { readConvertedBackbone } from './onnx-file';
import type { EmbedWorkerData, WorkerReply, WorkerRequest } from './worker-protocol';
import { predictPixels } from '../predict-array';

type Embed = (pixels: Uint8Array, n: number) => Promise<Float32Array>;

export async function serveEmbedWorker(port: MessagePort, data: EmbedWorkerData): Promise<void> {
  const embed = data.engine === 'onnxruntime' ? await onnxEmbed(data) : await wasmEmbed(data);
  port.on('message', async (msg: WorkerRequest) => {
    try {
      const features = await embed(msg.pixels, msg.n);
      port.postMessage({ type: 'features', id: msg.id, features } satisfies WorkerReply, [features.buffer as ArrayBuffer]);
    } catch (error) {
      port.postMessage({ type: 'error', id: msg.id, message: (error as Error).message } satisfies WorkerReply);
    }
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

async function wasmEmbed(data: EmbedWorkerData): Promise<Embed> {
  await startWorkerBackend();
  const model = await loadFeatureModel(data.backbone);
  const net = data.cut ? modelToCut(model, data.cut) : model;
  return (pixels, n) => predictPixels(net, pixels, n);
}

async function onnxEmbed(data: EmbedWorkerData): Promise<Embed> {
  if (!data.onnx) throw new Error('No ONNX file given to the inference worker');
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(await readConvertedBackbone(data.onnx.file, data.onnx.key), {
    intraOpNumThreads: data.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  return async (pixels, n) => {
    const side = data.inputSize;
    const result = await session.run({ [input]: new ort.Tensor('float32', Float32Array.from(pixels), [n, side, side, 3]) });
    const y = result[output]!;
    const features = new Float32Array(y.data as Float32Array);
    y.dispose();
    return features;
  };
}
