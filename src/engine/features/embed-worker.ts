// Runs inside a worker thread: the backbone on tfjs-wasm (single-threaded in Node), one batch at a time.
import type { MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadFeatureModel } from '../backbones/load';
import type { EmbedWorkerData, WorkerReply, WorkerRequest } from './worker-protocol';

export async function serveEmbedWorker(port: MessagePort, data: EmbedWorkerData): Promise<void> {
  if (!(await tf.setBackend('wasm'))) throw new Error('The wasm backend did not start in the worker');
  await tf.ready();
  const model = await loadFeatureModel(data.backbone);
  const [, height, width] = model.inputs[0]!.shape;
  port.on('message', async (msg: WorkerRequest) => {
    let reply: WorkerReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const out = tf.tidy(() => model.predict(tf.tensor4d(Float32Array.from(msg.pixels), [msg.n, height!, width!, 3])) as tf.Tensor);
      const features = new Float32Array((await out.data()) as Float32Array); // owns its buffer, so it can move
      out.dispose();
      reply = { type: 'features', id: msg.id, features };
      transfer.push(features.buffer as ArrayBuffer);
    } catch (error) {
      reply = { type: 'error', id: msg.id, message: (error as Error).message };
    }
    port.postMessage(reply, transfer);
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}
