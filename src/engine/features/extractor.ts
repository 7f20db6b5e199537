// Runs a frozen backbone on batches of pixels. Four routes, fastest first:
//   webgpu           tfjs on the graphics card, when the engine's backend is WebGPU (gpu/webgpu.ts);
//   tfjs-node        TensorFlow's native kernels, when the optional package could install;
//   onnxruntime      the backbone converted once by our ONNX writer and run by onnxruntime-node,
//                    whose CPU binaries ship inside the npm package (so it is there on every install);
//   wasm-workers     tfjs' wasm backend in one worker thread per core (one wasm thread alone is
//                    about a third of PyTorch's speed, and tfjs-wasm cannot multi-thread in Node).
// Every route takes RGB 0-255 NHWC pixels and gives the same features (tested against tfjs).
import os from 'node:os';
import type { CacheTally } from '../cache-file';
import { backendLabel } from '../../shared/backend-label';
import { addBackendNotes, ensureBackend } from '../compute';

export type ExtractorRoute = 'webgpu' | 'tfjs-node' | 'onnxruntime' | 'wasm-workers' | 'tfjs';

export interface Extractor {
  /** Short name of what runs the backbone, e.g. 'onnxruntime-cpu x2'. */
  backend: string;
  route: ExtractorRoute;
  /** Which route was taken and why the faster ones were not, in plain words (for BackendInfo notes). */
  notes: string;
  featureSize: number;
  inputSize: number;
  /** Cache files this extractor found damaged or outdated and made again (the ONNX route's conversion). */
  remade?: CacheTally;
  /** pixels: n*inputSize*inputSize*3 RGB 0-255, NHWC. Returns n*featureSize floats, row per image. */
  embed(pixels: Uint8Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

export interface ExtractorOptions {
  /** CPU threads to use (default: every core). */
  threads?: number;
  /**
   * onnxruntime only: worker threads sharing `threads` (0: in this thread). Default: one single-threaded
   * worker per thread, which beat one worker with 2 threads and the in-thread session on 2 busy cores.
   */
  workers?: number;
  /** Force one route (tests, benchmarks); 'auto' tries them fastest first. */
  route?: ExtractorRoute | 'auto';
}

export function defaultThreads(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

// What 'engine/info' says about feature extraction: the route of the latest extractor.
let lastNotes: string | null = null;
let registered = false;
function registerNotes(): void {
  if (registered) return;
  registered = true;
  addBackendNotes(() => (lastNotes ? [lastNotes] : []));
}

export async function createExtractor(backboneId: string, opts: ExtractorOptions = {}): Promise<Extractor> {
  const threads = Math.max(1, Math.floor(opts.threads ?? defaultThreads()));
  const route = opts.route ?? 'auto';
  const skipped: string[] = [];
  const withNotes = (e: Extractor, why: string): Extractor => {
    e.notes = [why, ...skipped].join(' ');
    lastNotes = e.notes;
    registerNotes();
    return e;
  };

  if (route === 'tfjs') {
    const { createTfjsExtractor } = await import('./tfjs-extractor');
    return withNotes(await createTfjsExtractor(backboneId), 'Features run on TensorFlow.js in this thread (requested).');
  }
  if (route === 'auto' || route === 'tfjs-node' || route === 'webgpu') {
    // The engine's backend choice (tfjs-node-gpu > WebGPU > tfjs-node > wasm) is made once per process.
    const info = await ensureBackend();
    if (info.name === 'webgpu' && route !== 'tfjs-node') {
      const { createTfjsExtractor } = await import('./tfjs-extractor');
      return withNotes(await createTfjsExtractor(backboneId), `Features run on the graphics card (${backendLabel(info)}).`);
    }
    if (route === 'webgpu') throw new Error(`WebGPU is not the engine's backend here. ${info.reasons.join(' ')}`);
    if (info.name === 'tensorflow' || info.name === 'tensorflow-gpu') {
      const { createTfjsExtractor } = await import('./tfjs-extractor');
      return withNotes(await createTfjsExtractor(backboneId), `Features run on TensorFlow native (${info.name}), the fastest route.`);
    }
    if (route === 'tfjs-node') throw new Error(`TensorFlow native (tfjs-node) is not usable here. ${info.reasons.join(' ')}`);
    skipped.push('TensorFlow native (tfjs-node) was not used: it is not installed or did not load.');
  }
  if (route === 'auto' || route === 'onnxruntime') {
    try {
      const { createOnnxExtractor } = await import('./onnx-extractor');
      const e = await createOnnxExtractor(backboneId, { threads, workers: opts.workers });
      return withNotes(e, `Features run on ONNX Runtime (CPU, ${threads} threads) with the backbone converted to ONNX by Foldwise.`);
    } catch (error) {
      if (route === 'onnxruntime') throw error;
      skipped.push(`ONNX Runtime was not used: ${(error as Error).message}.`);
    }
  }
  const { createWorkerExtractor } = await import('./worker-pool');
  const e = await createWorkerExtractor(backboneId, { workers: threads, engine: 'wasm' });
  return withNotes(e, `Features run on TensorFlow.js wasm in ${threads} worker thread${threads === 1 ? '' : 's'}, the slowest route.`);
}
