// Runs inside a worker thread (src/engine/worker.ts, task 'export-tflite'): starts LiteRT.js (wasm),
// then loads an exported .tflite file when told to and classifies the batches it is sent. LiteRT.js
// runs one thread in Node, so export verification runs one of these per extra core (runner-pool.ts).
import type { MessagePort } from 'node:worker_threads';
import { loadTfliteRunner } from './runner';
import type { Runner } from '../formats/types';
import type { RunnerWorkerReply, RunnerWorkerRequest } from '../runner-pool';
import { liteRt } from './litert';

export interface LiteRtWorkerData {
  task: 'export-tflite';
}

export async function serveLiteRtWorker(port: MessagePort, _data: LiteRtWorkerData): Promise<void> {
  await liteRt(); // the wasm runtime boots before the file exists
  let runner: Runner | null = null;
  const reply = (message: RunnerWorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  port.on('message', async (msg: RunnerWorkerRequest) => {
    try {
      if (msg.type === 'load') {
        runner?.dispose();
        runner = null;
        runner = await loadTfliteRunner(msg.source);
        reply({ type: 'loaded', id: msg.id, inputSize: runner.inputSize });
        return;
      }
      if (!runner) throw new Error('No model is loaded in this worker');
      const out = await runner.run(msg.pixels, msg.n);
      reply({ type: 'probabilities', id: msg.id, data: out }, [out.buffer as ArrayBuffer]);
    } catch (error) {
      reply({ type: 'error', id: msg.id, message: (error as Error).message });
    }
  });
  reply({ type: 'ready' });
}
