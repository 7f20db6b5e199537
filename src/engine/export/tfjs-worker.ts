// Runs inside a worker thread (src/engine/worker.ts, task 'export-tfjs'): starts stock
// @tensorflow/tfjs on the wasm backend, then loads an exported TF.js folder when told to and
// classifies the batches it is sent. tfjs-wasm runs a single thread in Node, so export verification
// starts one of these per core, and starts them while the model is still being written.
import type { MessagePort } from 'node:worker_threads';
// Static imports: the TypeScript worker runs through tsx's require hook, which dynamic import() bypasses.
import { startWorkerBackend } from '../compute';
import { loadTfjsExport } from './tfjs-io';
import type { LocalCopy, RunnerWorkerReply, RunnerWorkerRequest } from './runner-pool';

export interface TfjsWorkerData {
  task: 'export-tfjs';
}

export async function serveTfjsWorker(port: MessagePort, _data: TfjsWorkerData): Promise<void> {
  await startWorkerBackend();
  let copy: LocalCopy | null = null;
  const reply = (message: RunnerWorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  port.on('message', async (msg: RunnerWorkerRequest) => {
    try {
      if (msg.type === 'load') {
        copy?.dispose();
        copy = await loadTfjsExport(msg.source);
        reply({ type: 'loaded', id: msg.id, inputSize: copy.inputSize });
        return;
      }
      if (!copy) throw new Error('No model is loaded in this worker');
      const out = await copy.run(msg.pixels, msg.n);
      reply({ type: 'probabilities', id: msg.id, data: out }, [out.buffer as ArrayBuffer]);
    } catch (error) {
      reply({ type: 'error', id: msg.id, message: (error as Error).message });
    }
  });
  reply({ type: 'ready' });
}
