// An exported TF.js folder loaded by stock @tensorflow/tfjs in worker threads, one per core. tfjs-wasm
// runs one thread per backend in Node, so verifying 150+ photos in this thread used one core of many.
// Each worker reloads the written files itself (nothing is shared with the model that was exported).
// Starting tfjs in a thread takes seconds, so the threads are started first (startTfjsWorkers) and
// told which folder to load once it is written.
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../features/worker-pool';
import type { Loader, Runner } from './formats/types';
import type { TfjsWorkerData, TfjsWorkerReply, TfjsWorkerRequest } from './tfjs-worker';

interface Pending {
  resolve(reply: TfjsWorkerReply): void;
  reject(error: Error): void;
}

interface Thread {
  worker: Worker;
  ask(request: TfjsWorkerRequest, transfer?: ArrayBuffer[]): Promise<TfjsWorkerReply>;
}

/** Starts `workers` threads with tfjs on wasm; load(dir) then reloads an export in each of them. */
export function startTfjsWorkers(workers: number): Loader {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | null = null;
  let backend = 'wasm';
  const all: Worker[] = [];

  const start = (): Promise<Thread> =>
    new Promise((resolve, reject) => {
      const entry = workerEntry();
      const worker = new Worker(entry.script, { eval: entry.eval, workerData: { task: 'export-tfjs' } satisfies TfjsWorkerData, env: process.env });
      all.push(worker);
      worker.unref();
      let ready = false;
      const ask = (request: TfjsWorkerRequest, transfer: ArrayBuffer[] = []) =>
        new Promise<TfjsWorkerReply>((res, rej) => {
          if (failure) return rej(failure);
          pending.set(request.id, { resolve: res, reject: rej });
          worker.postMessage(request, transfer);
        });
      worker.on('message', (reply: TfjsWorkerReply) => {
        if (reply.type === 'ready') {
          ready = true;
          backend = reply.backend;
          resolve({ worker, ask });
          return;
        }
        const job = pending.get(reply.id);
        if (!job) return;
        pending.delete(reply.id);
        if (reply.type === 'error') job.reject(new Error(reply.message));
        else job.resolve(reply);
      });
      const fail = (error: Error) => {
        failure = error;
        if (!ready) reject(error);
        for (const job of pending.values()) job.reject(error);
        pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (code !== 0) fail(new Error(`A TF.js worker thread stopped unexpectedly (exit code ${code})`));
      });
    });

  // A thread that cannot start (e.g. the built worker entry is missing) rejects this; load() reports it.
  const threads = Promise.all(Array.from({ length: Math.max(1, workers) }, start));
  threads.catch(() => undefined);
  const dispose = () => {
    for (const w of all) void w.terminate();
    for (const job of pending.values()) job.reject(new Error('The TF.js worker threads were closed'));
    pending.clear();
  };

  return {
    dispose,
    async load(dir: string): Promise<Runner> {
      const ready = await threads;
      const loaded = await Promise.all(ready.map((t) => t.ask({ type: 'load', id: nextId++, dir })));
      const inputSize = (loaded[0] as Extract<TfjsWorkerReply, { type: 'loaded' }>).inputSize;
      const perImage = inputSize * inputSize * 3;
      return {
        runtime: `tfjs-${backend} x${ready.length} worker threads`,
        inputSize,
        async run(pixels, n) {
          if (pixels.length !== n * perImage) throw new Error(`Expected ${n} images of ${inputSize}x${inputSize}x3 pixels, got ${pixels.length} values.`);
          if (n === 0) return new Float32Array(0);
          // Contiguous shares, one per worker; each share is copied so it can be transferred.
          const shares = Math.min(ready.length, n);
          const jobs: Promise<TfjsWorkerReply>[] = [];
          let from = 0;
          for (let w = 0; w < shares; w++) {
            const count = Math.floor(n / shares) + (w < n % shares ? 1 : 0);
            const share = pixels.slice(from * perImage, (from + count) * perImage);
            jobs.push(ready[w]!.ask({ type: 'run', id: nextId++, pixels: share, n: count }, [share.buffer as ArrayBuffer]));
            from += count;
          }
          const parts = (await Promise.all(jobs)).map((r) => (r as Extract<TfjsWorkerReply, { type: 'probabilities' }>).data);
          const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
          let offset = 0;
          for (const part of parts) {
            out.set(part, offset);
            offset += part.length;
          }
          return out;
        },
        dispose,
      };
    },
  };
}
