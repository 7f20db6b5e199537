// One worker thread spoken to by request and reply: the plumbing shared by the feature-extraction pool
// (features/worker-pool.ts) and the TF.js export verification pool (export/tfjs-pool.ts). The worker
// (src/engine/worker.ts) says { type: 'ready' } once it has booted, then answers every request with a
// reply carrying the request's id, or { type: 'error', id, message }.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from './paths';

export interface WorkerEntry {
  script: string;
  /** True when `script` is code rather than a file. */
  eval: boolean;
}

/**
 * How to start the worker entry: the built bundle, or the TypeScript source under tsx/vitest
 * (loaded through tsx's require hook: Node's --import loaders do not reach worker threads).
 */
export function workerEntry(): WorkerEntry {
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

/** What a worker may send: the ready signal, an error for one request, or an answer to one. */
type AnyReply = { type: 'ready' } | { type: string; id: number; message?: string };
/** The replies that answer a request (not the ready signal, not an error). */
export type Answer<Reply> = Exclude<Reply, { type: 'ready' } | { type: 'error' }>;

export interface WorkerClient<Request extends { id: number }, Reply extends { type: string }> {
  /** Resolves once the worker says it is ready; rejects if it fails or stops first. */
  readonly ready: Promise<void>;
  /** The error that stopped this worker (or the reason it was closed); null while it works. */
  readonly failure: Error | null;
  /**
   * Sends a request (ids must be unique among this worker's unanswered requests) and resolves with its
   * reply; an error reply rejects with its message. `transfer`: buffers moved to the worker, not copied.
   */
  ask(request: Request, transfer?: ArrayBuffer[]): Promise<Answer<Reply>>;
  /**
   * Stops the worker; requests still waiting, and any asked later, reject with `reason`. Resolves once
   * the thread has exited, and with it its runtime's memory.
   */
  terminate(reason: Error): Promise<void>;
}

export interface WorkerClientOptions {
  workerData: unknown;
  /** The error for a worker that stops by itself, e.g. "An inference worker stopped unexpectedly (exit code 1)". */
  stopped(exitCode: number): Error;
  /** Defaults to workerEntry(); a failure to find it rejects `ready` rather than throwing here. */
  entry?: WorkerEntry;
}

/**
 * Starts one worker thread. It does not keep the process alive (unref), so a pool that is never closed
 * cannot hang the CLI. The first failure (an uncaught error in the worker, an exit, or terminate) is kept:
 * it rejects `ready` if the worker had not booted, every request still waiting, and every later one.
 */
export function startWorkerClient<Request extends { id: number }, Reply extends { type: string }>(
  opts: WorkerClientOptions,
): WorkerClient<Request, Reply> {
  const pending = new Map<number, { resolve(reply: Answer<Reply>): void; reject(error: Error): void }>();
  let failure: Error | null = null;
  let worker: Worker | null = null;
  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  // Whoever awaits `ready` still sees the rejection; this only keeps an unawaited one from being reported
  // as unhandled (a pool may stop its workers before they boot).
  ready.catch(() => undefined);

  const fail = (error: Error) => {
    if (!failure) failure = error;
    failReady(error); // no effect once ready
    for (const job of pending.values()) job.reject(error);
    pending.clear();
  };

  try {
    const entry = opts.entry ?? workerEntry();
    worker = new Worker(entry.script, { eval: entry.eval, workerData: opts.workerData, env: process.env });
    worker.unref();
    worker.on('message', (message: AnyReply) => {
      if (message.type === 'ready') {
        markReady();
        return;
      }
      const reply = message as { type: string; id: number; message?: string };
      const job = pending.get(reply.id);
      if (!job) return;
      pending.delete(reply.id);
      if (reply.type === 'error') job.reject(new Error(reply.message));
      else job.resolve(message as unknown as Answer<Reply>);
    });
    worker.on('error', fail);
    // Workers never stop by themselves, so any exit that terminate() did not ask for is a failure.
    worker.on('exit', (code) => fail(opts.stopped(code)));
  } catch (error) {
    fail(error as Error);
  }

  return {
    ready,
    get failure() {
      return failure;
    },
    ask(request, transfer = []) {
      return new Promise<Answer<Reply>>((resolve, reject) => {
        if (failure || !worker) return reject(failure ?? new Error('The worker thread did not start'));
        if (pending.has(request.id)) return reject(new Error(`Request ${request.id} is already waiting for this worker`));
        pending.set(request.id, { resolve, reject });
        worker.postMessage(request, transfer);
      });
    },
    terminate(reason) {
      fail(reason);
      return worker ? worker.terminate().then(() => undefined) : Promise.resolve();
    },
  };
}
