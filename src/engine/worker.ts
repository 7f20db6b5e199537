// Entry for inference worker threads (built to dist/engine/worker.js). What to do comes in workerData.
import { parentPort, workerData } from 'node:worker_threads';
import { serveTfjsWorker, type TfjsWorkerData } from './export/tfjs-worker';
import { serveLiteRtWorker, type LiteRtWorkerData } from './export/tflite/litert-worker';
import { serveEmbedWorker } from './features/embed-worker';
import type { EmbedWorkerData } from './features/worker-protocol';

const data = workerData as EmbedWorkerData | TfjsWorkerData | LiteRtWorkerData | undefined;
if (parentPort && data?.task === 'embed') {
  serveEmbedWorker(parentPort, data).catch((error: Error) => {
    // Surfaces as the 'error' event of the Worker in the pool, with this message.
    throw error;
  });
}
if (parentPort && data?.task === 'export-tfjs') {
  // Export verification: an exported TF.js model run by stock tfjs (wasm), one worker per core.
  serveTfjsWorker(parentPort, data).catch((error: Error) => {
    throw error;
  });
}
if (parentPort && data?.task === 'export-tflite') {
  // Export verification: an exported .tflite file run by LiteRT.js (wasm), one worker per extra core.
  serveLiteRtWorker(parentPort, data).catch((error: Error) => {
    throw error;
  });
}
