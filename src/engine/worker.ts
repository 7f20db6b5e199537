// Entry for inference worker threads (built to dist/engine/worker.js). What to do comes in workerData.
// Each task's module is required only by the thread that runs it: a LiteRT.js thread booted in 1.5 s
// when it also loaded tfjs and onnxruntime for the other tasks, 0.5 s without (through tsx). require,
// not import(): the TypeScript worker runs through tsx's require hook, which dynamic import() bypasses.
/* eslint-disable @typescript-eslint/no-require-imports */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { TfjsWorkerData } from './export/tfjs-worker';
import type { LiteRtWorkerData } from './export/tflite/litert-worker';
import type { EmbedWorkerData } from './features/worker-protocol';

type Serve<Data> = (port: MessagePort, data: Data) => Promise<void>;

/** Starts the task; its failure surfaces as the 'error' event of the Worker in the pool, with this message. */
function serve<Data>(load: () => Serve<Data>, data: Data): void {
  if (!parentPort) return;
  load()(parentPort, data).catch((error: Error) => {
    throw error;
  });
}

const data = workerData as EmbedWorkerData | TfjsWorkerData | LiteRtWorkerData | undefined;
// Feature extraction: onnxruntime or tfjs, one worker per core.
if (data?.task === 'embed') serve(() => (require('./features/embed-worker') as typeof import('./features/embed-worker')).serveEmbedWorker, data);
// Export verification: an exported TF.js model run by stock tfjs (wasm), one worker per extra core.
if (data?.task === 'export-tfjs') serve(() => (require('./export/tfjs-worker') as typeof import('./export/tfjs-worker')).serveTfjsWorker, data);
// Export verification: an exported .tflite file run by LiteRT.js (wasm), one worker per extra core.
if (data?.task === 'export-tflite') serve(() => (require('./export/tflite/litert-worker') as typeof import('./export/tflite/litert-worker')).serveLiteRtWorker, data);
