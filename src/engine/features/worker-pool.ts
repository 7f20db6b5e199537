// Inference in worker threads. The wasm route needs them because tfjs-wasm runs one thread per backend
// in Node: one worker per core, each with its own copy of the backbone. The onnxruntime route uses them
// because onnxruntime-node runs synchronously on the calling thread: off the main thread, the main
// thread keeps decoding the next photos while the backbone runs. Every batch is split between workers.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { getBackbone } from '../backbones/catalog';
import { packageRoot } from '../paths';
import type { Extractor } from './extractor';
import { checkPixels } from './tfjs-extractor';
import type { EmbedWorkerData, WorkerReply, WorkerRequest } from './worker-protocol';

interface Pending {
  resolve(data: Float32Array): void;
  reject(error: Error): void;
}

/**
 * How to start the worker entry: the built bundle, or the TypeScript source under tsx/vitest
 * (loaded through tsx's require hook: Node's --import loaders do not reach worker threads).
 */
export function workerEntry(): { script: string; eval: boolean } {
  const root = packageRoot();
  if (__filename.endsWith('.ts')) {
    const tsx = createRequire(path.join(root, 'package.json')).resolve('tsx/cjs');
    const source = path.join(root, 'src', 'engine', 'worker.ts');
    return { script: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(source)});`, eval: true };
  }
  const built = path.join(root, 'dist', 'engine', 'worker.js');
  if (!fs.existsSync(built)) throw new Error(`The inference worker ${built} is missing: run "npm run build"`);
  return { script: built, eval: false };
}

export interface WorkerPoolOptions {
  /** Worker threads; each gets a share of every batch. */
  workers: number;
  engine: 'wasm' | 'onnxruntime';
  onnxFile?: string;
  /** Threads inside each worker (onnxruntime only). */
  threadsPerWorker?: number;
}

export async function createWorkerExtractor(backboneId: string, opts: WorkerPoolOptions): Promise<Extractor> {
  const spec = getBackbone(backboneId);
  const entry = workerEntry();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | null = null;

  const start = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(entry.script, {
        eval: entry.eval,
        workerData: {
          task: 'embed',
          backbone: backboneId,
          engine: opts.engine,
          onnxFile: opts.onnxFile,
          threads: opts.threadsPerWorker,
          inputSize: spec.inputSize,
        } satisfies EmbedWorkerData,
        env: process.env,
      });
      worker.unref();
      let ready = false;
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          ready = true;
          resolve(worker);
          return;
        }
        const job = pending.get(reply.id);
        if (!job) return;
        pending.delete(reply.id);
        if (reply.type === 'features') job.resolve(reply.features);
        else job.reject(new Error(reply.message));
      });
      const fail = (error: Error) => {
        failure = error;
        if (!ready) reject(error);
        for (const job of pending.values()) job.reject(error);
        pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (code !== 0) fail(new Error(`An inference worker stopped unexpectedly (exit code ${code})`));
      });
    });

  const settled = await Promise.allSettled(Array.from({ length: opts.workers }, start));
  const workers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const firstError = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (firstError) {
    for (const w of workers) void w.terminate();
    throw firstError.reason;
  }

  const size = spec.inputSize;
  const perImage = size * size * 3;
  const ask = (worker: Worker, pixels: Uint8Array, n: number) =>
    new Promise<Float32Array>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const message: WorkerRequest = { type: 'embed', id, pixels, n };
      worker.postMessage(message, [pixels.buffer as ArrayBuffer]);
    });

  return {
    backend: opts.engine === 'wasm' ? `tfjs-wasm x${workers.length}` : `onnxruntime-cpu ${workers.length}x${opts.threadsPerWorker ?? 1}`,
    route: opts.engine === 'wasm' ? 'wasm-workers' : 'onnxruntime',
    notes: '',
    featureSize: spec.featureSize,
    inputSize: size,
    async embed(pixels, n) {
      checkPixels(pixels, n, size);
      if (failure) throw failure;
      if (n === 0) return new Float32Array(0);
      // Contiguous shares, one per worker; each share is copied so it can be transferred.
      const shares = Math.min(workers.length, n);
      const jobs: Promise<Float32Array>[] = [];
      let from = 0;
      for (let w = 0; w < shares; w++) {
        const count = Math.floor(n / shares) + (w < n % shares ? 1 : 0);
        jobs.push(ask(workers[w]!, pixels.slice(from * perImage, (from + count) * perImage), count));
        from += count;
      }
      const parts = await Promise.all(jobs);
      const out = new Float32Array(n * spec.featureSize);
      let offset = 0;
      for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
      }
      return out;
    },
    dispose() {
      for (const w of workers) void w.terminate();
      for (const job of pending.values()) job.reject(new Error('This feature extractor was closed'));
      pending.clear();
    },
  };
}
