// An exported TF.js folder reloaded by stock @tensorflow/tfjs on every core. tfjs-wasm runs one thread
// per backend in Node, so one copy of the model runs in this thread and one in each of (threads - 1)
// worker threads; every copy loads the written files itself (nothing is shared with the model that
// was exported). Batches are cut into small pieces that whichever copy is free takes next, so a core
// that other programs slow down gets less work. Starting tfjs in a worker takes about a second, so
// the workers start first (startTfjsRunners) and are told which folder to load once it is written.
import * as tf from '@tensorflow/tfjs';
import { startWorkerClient } from '../worker-client';
import type { Loader } from './formats/types';
import { dirLoader } from './tfjs-io';
import type { TfjsWorkerData, TfjsWorkerReply, TfjsWorkerRequest } from './tfjs-worker';
import { predictPixels } from '../predict-array';
import { disposeModels } from './dispose-models';

/** Images per piece of work: small enough to share a batch of 16 fairly, big enough to keep per-call costs low. */
const PIECE = 4;
/** More worker threads than this cost more to start than they save on a few hundred photos. */
const MAX_WORKERS = 7;

type Run = (pixels: Float32Array, n: number) => Promise<Float32Array>;
interface Copy {
  run: Run;
  /** Pieces it may hold at once: a worker gets a second one queued so it never waits for this thread. */
  capacity: number;
  busy: number;
  inThisThread: boolean;
}
interface Piece {
  pixels: Float32Array;
  n: number;
  resolve(data: Float32Array): void;
  reject(error: Error): void;
}

/**
 * Starts (threads - 1) worker threads with tfjs on wasm now; load(dir) then loads the export here and in
 * each of them. `waitForWorkers`: load() resolves only once the workers have joined (tests).
 */
export function startTfjsRunners(threads: number, opts: { waitForWorkers?: boolean } = {}): Loader {
  const workers = startWorkers(Math.min(MAX_WORKERS, Math.max(0, threads - 1)));
  let closed = false;
  let model: tf.LayersModel | null = null;
  const queue: Piece[] = [];
  const dispose = () => {
    closed = true;
    for (const piece of queue.splice(0)) piece.reject(new Error('This TF.js model was closed'));
    workers.dispose();
    if (model) disposeModels(model);
    model = null;
  };
  return {
    dispose,
    async load(dir) {
      // This thread's copy starts as soon as it is loaded; each worker joins once it has booted and
      // loaded the files too (booting tfjs in a thread takes about a second).
      const joining = workers.load(dir);
      joining.catch(() => undefined); // handled below
      model = await tf.loadLayersModel(dirLoader(dir));
      if (closed) throw new Error('The export was stopped');
      const local = model;
      const [, h, w, c] = local.inputs[0]!.shape as number[];
      const inThisThread: Run = (pixels, n) => predictPixels(local, pixels, n);
      const all: Copy[] = [{ run: inThisThread, capacity: 1, busy: 0, inThisThread: true }];
      const dispatch = () => {
        for (const copy of all) {
          while (copy.busy < copy.capacity && queue.length > 0) {
            const piece = queue.shift()!;
            copy.busy++;
            // This thread's copy starts on a later turn, so replies from workers are handled first.
            const start = copy.inThisThread ? new Promise<void>((r) => setImmediate(r)) : Promise.resolve();
            start
              .then(() => copy.run(piece.pixels, piece.n))
              .then(piece.resolve, piece.reject)
              .finally(() => {
                copy.busy--;
                dispatch();
              });
          }
        }
      };
      let note = '';
      const joined = joining.then(
        (runs) => {
          if (closed) return;
          all.push(...runs.map((run) => ({ run, capacity: 2, busy: 0, inThisThread: false })));
          dispatch();
        },
        (error: Error) => {
          note = ` (worker threads failed, so only this thread ran it: ${error.message})`;
        },
      );
      if (opts.waitForWorkers) await joined;
      const backend = tf.getBackend();
      const perImage = h! * w! * c!;
      return {
        // Read after the work: says which copies took part.
        get runtime() {
          const helpers = all.length - 1;
          return `tfjs-${backend} in this thread${helpers > 0 ? ` + ${helpers} worker thread${helpers === 1 ? '' : 's'}` : ''}${note}`;
        },
        inputSize: h!,
        async run(pixels, n) {
          if (closed) throw new Error('This TF.js model was closed');
          if (pixels.length !== n * perImage) throw new Error(`Expected ${n} images of ${h}x${w}x${c} pixels, got ${pixels.length} values.`);
          const parts: Promise<Float32Array>[] = [];
          for (let from = 0; from < n; from += PIECE) {
            const count = Math.min(PIECE, n - from);
            const share = pixels.slice(from * perImage, (from + count) * perImage);
            parts.push(new Promise((resolve, reject) => queue.push({ pixels: share, n: count, resolve, reject })));
          }
          dispatch();
          const done = await Promise.all(parts);
          const out = new Float32Array(done.reduce((s, p) => s + p.length, 0));
          let offset = 0;
          for (const part of done) {
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

/** `count` worker threads booting tfjs on wasm; load(dir) gives one run function per thread. */
function startWorkers(count: number): { load(dir: string): Promise<Run[]>; dispose(): void } {
  let nextId = 1;
  const clients = Array.from({ length: count }, () =>
    startWorkerClient<TfjsWorkerRequest, TfjsWorkerReply>({
      workerData: { task: 'export-tfjs' } satisfies TfjsWorkerData,
      stopped: (code) => new Error(`a TF.js worker thread stopped unexpectedly (exit code ${code})`),
    }),
  );
  // Once one thread has failed, the others refuse work too, with its error: the run fails saying why.
  const failure = () => clients.find((c) => c.failure)?.failure ?? null;

  // A thread that cannot start (e.g. the built worker entry is missing) rejects this; load() reports it.
  const threads = Promise.all(clients.map((c) => c.ready));
  threads.catch(() => undefined);
  return {
    async load(dir) {
      await threads;
      await Promise.all(clients.map((c) => c.ask({ type: 'load', id: nextId++, dir })));
      return clients.map(
        (client): Run =>
          async (pixels, n) => {
            const failed = failure();
            if (failed) throw failed;
            const reply = await client.ask({ type: 'run', id: nextId++, pixels, n }, [pixels.buffer as ArrayBuffer]);
            return (reply as Extract<TfjsWorkerReply, { type: 'probabilities' }>).data;
          },
      );
    },
    dispose() {
      const closed = new Error('The TF.js worker threads were closed');
      for (const c of clients) c.terminate(closed);
    },
  };
}
