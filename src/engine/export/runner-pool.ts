// An exported model reloaded on every core, for verification: the runtimes that check exports here
// (stock tfjs on wasm, LiteRT.js on wasm) run one thread each in Node, so one copy of the model runs
// in this thread and one in each of (threads - 1) worker threads; every copy loads the written file
// itself (nothing is shared with the model that was exported). Batches are cut into small pieces that
// whichever copy is free takes next, so a core that other programs slow down gets less work. Booting a
// runtime in a worker takes a while, so the workers start first (startRunnerPool) and are told what
// to load once it is written; this thread's copy starts without them and they join when ready.
import { joinFloats } from '../../shared/join-floats';
import { startWorkerClient } from '../worker-client';
import type { Loader } from './formats/types';

/** What the pool says to a worker (src/engine/worker.ts, task `task`) and what it answers. */
export type RunnerWorkerRequest = { type: 'load'; id: number; source: string } | { type: 'run'; id: number; pixels: Float32Array; n: number };
export type RunnerWorkerReply =
  | { type: 'ready' }
  | { type: 'loaded'; id: number; inputSize: number }
  | { type: 'probabilities'; id: number; data: Float32Array }
  | { type: 'error'; id: number; message: string };

export type Run = (pixels: Float32Array, n: number) => Promise<Float32Array>;

/** The copy in this thread, once loaded. */
export interface LocalCopy {
  run: Run;
  /** Side of the square input, in pixels. */
  inputSize: number;
  dispose(): void;
}

export interface RunnerPoolOptions {
  threads: number;
  /** The worker task that serves RunnerWorkerRequest (see worker.ts). */
  task: string;
  /** In words, for errors: 'TF.js model'. */
  what: string;
  /** Names the runtime for the export result, e.g. 'tfjs-wasm' (asked once this thread's copy is loaded). */
  runtime(): string;
  /** Loads `source` (a folder or file, as the workers are told too) in this thread. */
  loadHere(source: string): Promise<LocalCopy>;
  /** load() resolves only once the workers have joined (tests). */
  waitForWorkers?: boolean;
}

/** Images per piece of work: small enough to share a batch of 16 fairly, big enough to keep per-call costs low. */
const PIECE = 4;
/** More worker threads than this cost more to start than they save on a few hundred photos. */
const MAX_WORKERS = 7;

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

/** Starts (threads - 1) worker threads now; load(source) then loads the model here and in each of them. */
export function startRunnerPool(opts: RunnerPoolOptions): Loader {
  const workers = startWorkers(Math.min(MAX_WORKERS, Math.max(0, opts.threads - 1)), opts.task, opts.what);
  const closedError = () => new Error(`This ${opts.what} was closed`);
  let closed = false;
  let local: LocalCopy | null = null;
  const queue: Piece[] = [];
  const dispose = () => {
    closed = true;
    for (const piece of queue.splice(0)) piece.reject(closedError());
    local?.dispose();
    local = null;
    return workers.dispose();
  };
  return {
    dispose,
    async load(source) {
      const joining = workers.load(source);
      joining.catch(() => undefined); // handled below
      local = await opts.loadHere(source);
      if (closed) throw new Error('The export was stopped');
      const here = local;
      const all: Copy[] = [{ run: here.run, capacity: 1, busy: 0, inThisThread: true }];
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
      const name = opts.runtime();
      const size = here.inputSize;
      const perImage = size * size * 3;
      return {
        // Read after the work: says which copies took part.
        get runtime() {
          const helpers = all.length - 1;
          return `${name} in this thread${helpers > 0 ? ` + ${helpers} worker thread${helpers === 1 ? '' : 's'}` : ''}${note}`;
        },
        inputSize: size,
        async run(pixels, n) {
          if (closed) throw closedError();
          if (pixels.length !== n * perImage) throw new Error(`Expected ${n} images of ${size}x${size}x3 pixels, got ${pixels.length} values.`);
          const parts: Promise<Float32Array>[] = [];
          for (let from = 0; from < n; from += PIECE) {
            const count = Math.min(PIECE, n - from);
            const share = pixels.slice(from * perImage, (from + count) * perImage);
            parts.push(new Promise((resolve, reject) => queue.push({ pixels: share, n: count, resolve, reject })));
          }
          dispatch();
          return joinFloats(await Promise.all(parts));
        },
        dispose,
      };
    },
  };
}

/** `count` worker threads booting their runtime; load(source) gives one run function per thread. */
function startWorkers(count: number, task: string, what: string): { load(source: string): Promise<Run[]>; dispose(): Promise<void> } {
  let nextId = 1;
  const clients = Array.from({ length: count }, () =>
    startWorkerClient<RunnerWorkerRequest, RunnerWorkerReply>({
      workerData: { task },
      stopped: (code) => new Error(`a worker thread running the ${what} stopped unexpectedly (exit code ${code})`),
    }),
  );
  // Once one thread has failed, the others refuse work too, with its error: the run fails saying why.
  const failure = () => clients.find((c) => c.failure)?.failure ?? null;

  // A thread that cannot start (e.g. the built worker entry is missing) rejects this; load() reports it.
  const threads = Promise.all(clients.map((c) => c.ready));
  threads.catch(() => undefined);
  return {
    async load(source) {
      await threads;
      await Promise.all(clients.map((c) => c.ask({ type: 'load', id: nextId++, source })));
      return clients.map(
        (client): Run =>
          async (pixels, n) => {
            const failed = failure();
            if (failed) throw failed;
            const reply = await client.ask({ type: 'run', id: nextId++, pixels, n }, [pixels.buffer as ArrayBuffer]);
            return (reply as Extract<RunnerWorkerReply, { type: 'probabilities' }>).data;
          },
      );
    },
    async dispose() {
      const closed = new Error(`The worker threads running the ${what} were closed`);
      await Promise.all(clients.map((c) => c.terminate(closed)));
    },
  };
}
