// Inference in worker threads. The wasm route needs them because tfjs-wasm runs one thread per backend
// in Node: one worker per core, each with its own copy of the backbone. The onnxruntime route uses them
// because onnxruntime-node runs synchronously on the calling thread: off the main thread, the main
// thread keeps decoding the next photos while the backbone runs. Every batch is split between workers.
import { getBackbone } from '../backbones/catalog';
import { startWorkerClient, workerEntry, type WorkerClient } from '../worker-client';
import type { Extractor } from './extractor';
import { checkPixels } from './tfjs-extractor';
import type { EmbedWorkerData, WorkerReply, WorkerRequest } from './worker-protocol';

export interface WorkerPoolOptions {
  /** Worker threads; each gets a share of every batch. */
  workers: number;
  engine: 'wasm' | 'onnxruntime';
  /** The converted backbone's cache file and key (onnxruntime only). */
  onnx?: { file: string; key: string };
  /** Threads inside each worker (onnxruntime only). */
  threadsPerWorker?: number;
  /** wasm only: activations at this layer instead of features (activation-cache.ts), outputSize floats per photo. */
  cut?: { layer: string; outputSize: number };
}

export async function createWorkerExtractor(backboneId: string, opts: WorkerPoolOptions): Promise<Extractor> {
  const spec = getBackbone(backboneId);
  const entry = workerEntry();
  let nextId = 1;

  const clients: WorkerClient<WorkerRequest, WorkerReply>[] = Array.from({ length: opts.workers }, () =>
    startWorkerClient<WorkerRequest, WorkerReply>({
      entry,
      workerData: {
        task: 'embed',
        backbone: backboneId,
        engine: opts.engine,
        onnx: opts.onnx,
        threads: opts.threadsPerWorker,
        inputSize: spec.inputSize,
        cut: opts.cut?.layer,
      } satisfies EmbedWorkerData,
      stopped: (code) => new Error(`An inference worker stopped unexpectedly (exit code ${code})`),
    }),
  );
  const settled = await Promise.allSettled(clients.map((c) => c.ready));
  const firstError = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (firstError) {
    for (const c of clients) c.terminate(firstError.reason as Error);
    throw firstError.reason;
  }
  // Once one worker has failed, every later batch says why (it would miss that worker's share).
  const failure = () => clients.find((c) => c.failure)?.failure ?? null;

  const size = spec.inputSize;
  const outputSize = opts.cut?.outputSize ?? spec.featureSize;
  const perImage = size * size * 3;
  // Batches still inside a worker. A worker is stopped only once they are back: terminating one while
  // onnxruntime runs inside it aborts the whole process (a native Napi::Error), which a cancel during
  // feature extraction did (bench/cancel.ts).
  const inflight = new Set<Promise<unknown>>();
  let closed: Error | null = null;
  const ask = async (client: WorkerClient<WorkerRequest, WorkerReply>, pixels: Uint8Array, n: number) => {
    const asked = client.ask({ type: 'embed', id: nextId++, pixels, n }, [pixels.buffer as ArrayBuffer]);
    inflight.add(asked);
    const gone = () => inflight.delete(asked);
    asked.then(gone, gone);
    return (await asked).features;
  };

  return {
    backend: opts.engine === 'wasm' ? `tfjs-wasm x${clients.length}` : `onnxruntime-cpu ${clients.length}x${opts.threadsPerWorker ?? 1}`,
    route: opts.engine === 'wasm' ? 'wasm-workers' : 'onnxruntime',
    notes: '',
    featureSize: outputSize,
    inputSize: size,
    async embed(pixels, n) {
      checkPixels(pixels, n, size);
      if (closed) throw closed;
      const failed = failure();
      if (failed) throw failed;
      if (n === 0) return new Float32Array(0);
      // Contiguous shares, one per worker; each share is copied so it can be transferred.
      const shares = Math.min(clients.length, n);
      const jobs: Promise<Float32Array>[] = [];
      let from = 0;
      for (let w = 0; w < shares; w++) {
        const count = Math.floor(n / shares) + (w < n % shares ? 1 : 0);
        jobs.push(ask(clients[w]!, pixels.slice(from * perImage, (from + count) * perImage), count));
        from += count;
      }
      const parts = await Promise.all(jobs);
      const out = new Float32Array(n * outputSize);
      let offset = 0;
      for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
      }
      return out;
    },
    dispose() {
      if (closed) return;
      const reason = (closed = new Error('This feature extractor was closed'));
      void Promise.allSettled([...inflight]).then(() => {
        for (const c of clients) c.terminate(reason);
      });
    },
  };
}
