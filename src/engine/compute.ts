// The one owner of TensorFlow.js's compute state. tfjs has one current backend per process, and a
// kernel runs on whichever backend is current when it is called: a training step on 'cpu' that finds
// 'wasm' current (because a heatmap switched it) moves its tensors there, or fails where wasm lacks a
// kernel. So only this module switches backends (the only tf.setBackend call outside tests and
// workers), it registers Foldwise's own kernels, and it runs every job that computes in one queue:
// a job says what it computes and this module switches when the job, or a phase of it, starts.
import { AsyncLocalStorage } from 'node:async_hooks';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendInfo } from '../shared/types';
import { createBackendSelector } from './backend';
import { lostDevice, replaceLostDevice } from './gpu/webgpu';
import { useFastCpuGradients } from './train/cpu-gradients';
import { useFusedGradients } from './train/fused-gradients';
import { useFastWasmForward } from './train/wasm-forward';
import { useWasmConvGradients } from './train/wasm-gradients';

// tfjs-layers remembers the execution order of the last 100 models it ran (an LRU), and with it every
// layer object of models long disposed: in a long session the JS heap and RSS kept growing for dozens
// of jobs (30 rounds of scan, train, review and export: heap 93 -> 107 MB, RSS 376 -> 405 MB; with 8
// entries 93-96 and 371-384 MB). A job runs a handful of models over and over, so 8 keep the hits that
// matter: a warm dogs_vs_cats train took the same 2.3-2.5 s either way.
tf.env().set('TOPOLOGICAL_SORT_CACHE_MAX_ENTRIES', 8);

/** What a job computes; the backend follows from it. */
export type ComputeNeed = 'inference' | 'head' | 'convolutions';
/** A job's need; 'any' for jobs that only want their turn at the cores (scanning, downloading) and leave tfjs alone. */
export type JobNeed = ComputeNeed | 'any';

// Best first, among those registered. wasm has the dense kernels and their gradients (5-10x the
// plain-JS 'cpu' backend); tfjs-backend-wasm has no convolution gradients of its own, so Foldwise
// registers them (train/wasm-gradients.ts, fused-gradients.ts, wasm-forward.ts): a MobileNetV2
// training step then costs ~60 ms of CPU per photo there against ~3.3 s on 'cpu' (docs/BENCHMARKS.md).
// 'webgpu' is registered only when the selector took it (a hardware card, or FOLDWISE_BACKEND=webgpu),
// and then every need runs there. The needs are named apart so that a backend can serve one and not
// another, once a real GPU's numbers (bench/gpu.ts) say one of them is faster elsewhere.
const PREFERENCE: Record<ComputeNeed, string[]> = {
  inference: ['webgpu', 'tensorflow', 'wasm', 'cpu'],
  head: ['webgpu', 'tensorflow', 'wasm', 'cpu'],
  convolutions: ['webgpu', 'tensorflow', 'wasm', 'cpu'],
};

/**
 * Narrows the backends a need may use, for tests that must tell two needs apart now that every need
 * runs on wasm where tfjs-node is missing. Returns the undo.
 */
export function overridePreference(need: ComputeNeed, names: string[]): () => void {
  const before = PREFERENCE[need];
  PREFERENCE[need] = names;
  return () => {
    PREFERENCE[need] = before;
  };
}

/** Foldwise's own kernels on every backend they are for; each call after the first changes nothing. */
function useFoldwiseKernels(): void {
  useFastCpuGradients();
  useWasmConvGradients();
  useFusedGradients();
  useFastWasmForward();
}

/** Makes a registered tfjs backend current; false when it will not start. */
async function activate(name: string): Promise<boolean> {
  if (!tf.findBackendFactory(name)) return false;
  useFoldwiseKernels();
  const ok = await tf.setBackend(name);
  if (ok) await tf.ready();
  if (ok && name === 'cpu') quietCpuBanner();
  return ok;
}

/**
 * tfjs's plain-JS backend prints an "install our node backend" banner on stderr the first time it
 * holds a tensor. Foldwise already says which backend runs and why (engine/info, the CLI's
 * "backend"), and the banner would land in the middle of progress bars. Its only switch short of
 * tfjs's production mode (which would hide tfjs's other warnings too) is this field of the backend.
 */
function quietCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: unknown } | null;
  if (cpu && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}

// The engine's choice of inference backend (tfjs-node-gpu > tfjs-node > wasm > cpu), made once.
const selector = createBackendSelector({ activate });

/** Selects the engine's backend once (loading tfjs-node where installed); later calls return the same answer. */
export function ensureBackend(): Promise<BackendInfo> {
  return selector.ensure();
}

/** The engine's backend and why the faster ones were not taken (what 'engine/info' answers). */
export function describeBackend(): Promise<BackendInfo> {
  return selector.describe();
}

/** Lets another part of the engine add a line to describeBackend().reasons. */
export function addBackendNotes(source: () => string[] | Promise<string[]>): () => void {
  return selector.addNotes(source);
}

/** Makes the best backend for `need` current; returns its name. */
async function switchTo(need: ComputeNeed): Promise<string> {
  await ensureBackend();
  for (const name of PREFERENCE[need]) {
    if (!tf.findBackendFactory(name)) continue;
    if (tf.getBackend() === name) return name;
    // A backend that fails to start (e.g. wasm binary missing) gives false or throws: try the next.
    if (await activate(name).catch(() => false)) return name;
  }
  throw new Error(`No TensorFlow.js backend for ${need} could start.`);
}

/** The job (or phase) running in this async context: what it asked for. */
interface Frame {
  need: JobNeed;
}
const frames = new AsyncLocalStorage<Frame>();
let queue: Promise<unknown> = Promise.resolve();
/** Jobs started and not yet finished: at most one, since they run in turn. */
let running = 0;

/**
 * Runs `fn` on the backend `need` picks. Called outside a job, `fn` is a job: it waits until the
 * jobs before it have finished, then runs alone, and tfjs is left on the backend it found. Called
 * inside a job, `fn` is a phase of that job: it runs at once, on its own backend, and the job's
 * backend is put back when it ends. Phases of one job run one after another, never side by side.
 */
export function withBackend<T>(need: JobNeed, fn: () => Promise<T> | T): Promise<T> {
  const outer = frames.getStore();
  if (outer) return phase(outer, need, fn);
  const turn = queue.then(() => frames.run({ need }, () => job(need, fn)));
  queue = turn.catch(() => undefined);
  return turn;
}

async function job<T>(need: JobNeed, fn: () => Promise<T> | T): Promise<T> {
  running++;
  const found = tf.getBackend() as string | null; // null before tfjs has started any backend
  try {
    // A card lost while no job ran (the laptop slept) is opened anew before this job touches it.
    replaceLostDevice();
    if (need !== 'any') await switchTo(need);
    return await fn();
  } catch (error) {
    throw deviceLossOr(error);
  } finally {
    // A card lost during this job is replaced before tfjs is put back as the job found it, which
    // would otherwise make the dead backend current again.
    replaceLostDevice();
    // Code outside the queue (tests, benches) finds tfjs as it left it.
    if (found && tf.getBackend() !== found) await activate(found).catch(() => false);
    running--;
  }
}

/** The job's error, or, when the graphics card was lost under it, that in plain words. */
function deviceLossOr(error: unknown): unknown {
  const lost = lostDevice();
  if (!lost) return error;
  return Object.assign(new Error(`${lost} The job stopped; nothing saved was lost. Start it again: Foldwise opens the graphics card anew.`), {
    code: 'gpu/device-lost',
    cause: error,
  });
}

async function phase<T>(outer: Frame, need: JobNeed, fn: () => Promise<T> | T): Promise<T> {
  if (need === 'any' || need === outer.need) return fn();
  await switchTo(need);
  try {
    return await frames.run({ need }, fn);
  } finally {
    if (outer.need !== 'any') await switchTo(outer.need);
  }
}

/**
 * Switches now, without a scope. Inside a job it changes that job's backend (a phase that ends puts
 * this one back); outside, it is for tests and benches that set tfjs up before they compute, and it
 * refuses while a job runs, because the switch would land in the middle of that job.
 */
export async function switchBackend(need: ComputeNeed): Promise<string> {
  const frame = frames.getStore();
  if (!frame && running > 0) throw new Error(`The backend cannot switch to ${need} while a job computes: wrap the work in withBackend('${need}', ...).`);
  if (frame) frame.need = need;
  return switchTo(need);
}

/** A worker thread's own tfjs: the wasm backend, set once when the worker starts (jobs never reach into workers). */
export async function startWorkerBackend(): Promise<string> {
  if (!(await activate('wasm'))) throw new Error('The wasm backend of TensorFlow.js did not start in this worker');
  return tf.getBackend();
}
