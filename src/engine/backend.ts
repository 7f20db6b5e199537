// Picks the fastest TensorFlow.js backend this computer can run: tfjs-node-gpu (CUDA), then WebGPU on
// a hardware graphics card, then tfjs-node, then WebAssembly (with the plain-JS 'cpu' backend as the
// last resort), and says in plain words why the faster ones were not taken, so a person knows what to
// install or fix. FOLDWISE_BACKEND=webgpu or =cpu forces a route. It starts backends only through the
// `activate` it is given: compute.ts, the one owner of the current backend, holds the engine's selector.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo, GpuAdapter } from '../shared/types';
import { WebGpuUnavailable } from './gpu/webgpu';

export type BackendName = BackendInfo['name'];

/**
 * How each candidate is started. Each one throws (with the real error of the failing require) when it
 * cannot run here. Injected in tests; the defaults require the real packages.
 */
export interface BackendLoaders {
  tensorflowGpu(): Promise<void>;
  tensorflow(): Promise<void>;
  /** Finds the graphics card WebGPU would use and registers tfjs's 'webgpu' backend on it; `forced` skips the pre-check for a card. */
  webgpu(forced: boolean): Promise<GpuAdapter>;
  /** Registers the wasm backend and starts it with `activate`; returns its thread count. */
  wasm(activate: (tfBackend: string) => Promise<boolean>): Promise<number>;
}

export interface BackendSelectorOptions {
  loaders?: Partial<BackendLoaders>;
  /** Makes a registered tfjs backend current; false when it will not start. The engine's is compute.ts's, the one place that switches. */
  activate(tfBackend: string): Promise<boolean>;
  /** More lines for BackendInfo.reasons, asked at each describe (e.g. the feature extractor's route). */
  extraNotes?(): string[] | Promise<string[]>;
  /** The tfjs backend in use right now, or null before tfjs has started one. Default: tf.engine().backendName. */
  current?(): string | null;
  /** A forced route; default: the FOLDWISE_BACKEND environment variable. */
  forced?: string;
}

/** Errors of our own pre-checks, so they can be explained like the real require failures. */
class BackendUnavailable extends Error {
  constructor(readonly code: 'mac' | 'no-nvidia' | 'cuda-missing' | 'no-gpu', message: string) {
    super(message);
  }
}

const nodeRequire = createRequire(__filename);

// tfjs-node-gpu 4.x is built against CUDA 11.2 and cuDNN 8.1: these are the libraries it loads.
const CUDA_LIBRARIES: Record<string, string[]> = {
  linux: ['libcudart.so.11.0', 'libcudnn.so.8'],
  win32: ['cudart64_110.dll', 'cudnn64_8.dll'],
};

function libraryDirs(): string[] {
  const fromEnv = (process.platform === 'win32' ? process.env.PATH : process.env.LD_LIBRARY_PATH) ?? '';
  const dirs = fromEnv.split(path.delimiter).filter(Boolean);
  if (process.platform === 'linux') {
    dirs.push('/usr/local/cuda/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib');
    try {
      // The dynamic linker's own cache knows libraries installed in any configured folder.
      const cache = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 });
      for (const line of cache.split('\n')) {
        const match = /=>\s*(\S+)$/.exec(line.trim());
        if (match) dirs.push(path.dirname(match[1]!));
      }
    } catch {
      // no ldconfig: the folders above are checked anyway
    }
  }
  return [...new Set(dirs)];
}

/** What the GPU pre-check looks at; injectable so the check can be tested on machines without a GPU. */
export interface GpuSystem {
  platform: NodeJS.Platform;
  exists(file: string): boolean;
  libraryDirs(): string[];
}

const realSystem: GpuSystem = { platform: process.platform, exists: (f) => fs.existsSync(f), libraryDirs };

/**
 * Before loading tfjs-node-gpu: an NVIDIA driver and the CUDA/cuDNN versions it was built for must be
 * present. Without them libtensorflow still loads but silently computes on the CPU, and the badge would lie.
 */
export function checkGpuPrerequisites(system: GpuSystem = realSystem): void {
  if (system.platform === 'darwin') throw new BackendUnavailable('mac', 'macOS has no CUDA');
  if (system.platform === 'linux' && !system.exists('/proc/driver/nvidia/version') && !system.exists('/dev/nvidia0')) {
    throw new BackendUnavailable('no-nvidia', 'no NVIDIA driver found (/proc/driver/nvidia/version)');
  }
  const needed = CUDA_LIBRARIES[system.platform] ?? [];
  const dirs = system.libraryDirs();
  const missing = needed.filter((lib) => !dirs.some((dir) => system.exists(path.join(dir, lib))));
  if (missing.length > 0) throw new BackendUnavailable('cuda-missing', `${missing.join(', ')}: cannot open shared object file`);
}

/**
 * Before loading Dawn on Linux: a graphics card shows up as a render node. Without one (servers, CI,
 * most virtual machines) there is nothing for WebGPU to find, and Dawn would only print its
 * complaints about the software Vulkan drivers it rejects.
 */
export function checkGraphicsDevice(system: Pick<GpuSystem, 'platform'> & { renderNodes(): string[] } = { platform: process.platform, renderNodes }): void {
  if (system.platform !== 'linux') return;
  if (system.renderNodes().length === 0) throw new BackendUnavailable('no-gpu', 'no graphics card found (/dev/dri/renderD*, /dev/nvidia0)');
}

/** Render nodes, plus NVIDIA's own device nodes: its driver may run without a DRM render node (headless machines). */
function renderNodes(): string[] {
  const nvidia = ['/dev/nvidia0'].filter((f) => fs.existsSync(f));
  try {
    return [...fs.readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')), ...nvidia];
  } catch {
    return nvidia;
  }
}

export const defaultLoaders: BackendLoaders = {
  async tensorflowGpu() {
    nodeRequire.resolve('@tensorflow/tfjs-node-gpu'); // not installed: MODULE_NOT_FOUND before any CUDA talk
    checkGpuPrerequisites();
    nodeRequire('@tensorflow/tfjs-node-gpu');
  },
  async tensorflow() {
    nodeRequire('@tensorflow/tfjs-node');
  },
  async webgpu(forced) {
    if (!forced) checkGraphicsDevice();
    const { findGpu, registerWebGpuBackend } = await import('./gpu/webgpu');
    const gpu = await findGpu();
    registerWebGpuBackend();
    return gpu;
  },
  async wasm(activate) {
    const wasm = nodeRequire('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    try {
      // Point it at the .wasm files in node_modules (or app.asar.unpacked); it refuses once initialised.
      wasm.setWasmPaths(path.join(path.dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
      wasm.setThreadsCount(os.availableParallelism());
    } catch {
      // already initialised by someone else in this process: keep their settings
    }
    if (!(await activate('wasm'))) throw new Error('the WebAssembly backend did not initialise');
    // In Node the threaded build is unavailable (no cross-origin isolation), so this is usually 1.
    return wasm.getThreadsCount();
  },
};

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isMissingPackage(error: unknown, pkg: string): boolean {
  const code = (error as { code?: string }).code;
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && messageOf(error).includes(pkg);
}

/** Why WebGPU was not taken, in plain words. */
function explainWebGpu(error: unknown, short: string): string {
  if ((error as { code?: string }).code === 'no-gpu') return 'No graphics card was found for WebGPU: training will use the CPU.';
  if (error instanceof WebGpuUnavailable) {
    if (error.code === 'not-installed') return 'WebGPU support (the webgpu package) is not installed: training will use the CPU. Reinstalling Foldwise may fix this.';
    if (error.code === 'no-adapter') return 'WebGPU found no usable graphics card (its driver may lack Vulkan, Direct3D 12 or Metal support; updating the graphics driver may help): training will use the CPU.';
    if (error.code === 'software') return `WebGPU found only a software adapter (${short}), which is slower than the CPU: training will use the CPU. Set FOLDWISE_BACKEND=webgpu to use it anyway.`;
  }
  return `WebGPU could not start (${short}): training will use the CPU.`;
}

/** Turns the real failure of a candidate into a sentence a non-coder can act on. */
export function explainFailure(candidate: 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm', error: unknown): string {
  const message = messageOf(error);
  const short = message.split('\n')[0]!.slice(0, 160);
  if (candidate === 'webgpu') return explainWebGpu(error, short);
  if (candidate === 'wasm') {
    return `The WebAssembly engine could not start (${short}): everything runs on the plain JavaScript engine, which is much slower. Reinstalling Foldwise may fix this.`;
  }
  const gpu = candidate === 'tensorflow-gpu';
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const then = gpu ? 'training will use the CPU' : 'using the WebAssembly engine, which is slower';
  if (error instanceof BackendUnavailable) {
    if (error.code === 'mac') return 'Macs cannot train on the graphics card (TensorFlow needs an NVIDIA card with CUDA): training will use the CPU.';
    if (error.code === 'no-nvidia') return 'No NVIDIA graphics card (or driver) was found: training will use the CPU.';
  }
  if (/cuda|cudnn|cudart|cublas|cufft|curand|cusolver|cusparse/i.test(message)) {
    return `CUDA 11.2/cuDNN 8.1 not found: ${then}. Install both from NVIDIA to train on the graphics card.`;
  }
  if (isMissingPackage(error, pkg)) {
    return gpu
      ? 'The graphics-card edition of TensorFlow is not installed (its download needs the internet and an NVIDIA card): training will use the CPU.'
      : `TensorFlow for Node is not installed (its download needs the internet): ${then}.`;
  }
  const name = gpu ? 'The graphics-card edition of TensorFlow' : 'TensorFlow for Node';
  if (/tfjs_binding\.node|libtensorflow|tensorflow\.dll|specified module could not be found/i.test(message)) {
    return `${name} is installed but its native library is missing (it is downloaded during installation, which needs the internet): ${then}. Reinstall Foldwise while online to fix this.`;
  }
  if (/GLIBC|GLIBCXX/.test(message)) {
    return `${name} needs a newer Linux (its system C library is too old): ${then}.`;
  }
  return `${name} could not start (${short}): ${then}.`;
}

const BADGES: Record<BackendName, BackendInfo['badge']> = { 'tensorflow-gpu': 'GPU', webgpu: 'GPU', tensorflow: 'CPU', wasm: 'WASM', cpu: 'CPU' };

/** The routes FOLDWISE_BACKEND can force: WebGPU (software adapters included), or the CPU alone. */
function forcedRoute(value: string | undefined): 'webgpu' | 'cpu' | null {
  const v = value?.trim().toLowerCase();
  if (!v || v === 'auto') return null;
  if (v === 'webgpu' || v === 'cpu') return v;
  throw new Error(`FOLDWISE_BACKEND=${value} is not a route Foldwise knows: use webgpu, cpu or auto (or leave it unset).`);
}

/** Starts WebGPU; a software adapter only when asked for by name. */
async function startWebGpu(loaders: BackendLoaders, activate: BackendSelectorOptions['activate'], forced: boolean): Promise<GpuAdapter> {
  const gpu = await loaders.webgpu(forced);
  if (gpu.software && !forced) throw new WebGpuUnavailable('software', gpu.name);
  if (!(await activate('webgpu'))) throw new Error(`the webgpu backend registered on ${gpu.name} but did not start`);
  return gpu;
}

/** Tries the candidates in order and activates the first that starts. */
export async function selectBackend(options: BackendSelectorOptions): Promise<BackendInfo> {
  const loaders = { ...defaultLoaders, ...options.loaders };
  const { activate } = options;
  const reasons: string[] = [];
  const cores = os.availableParallelism();
  const forced = forcedRoute(options.forced ?? process.env.FOLDWISE_BACKEND);

  const webgpu = async (): Promise<BackendInfo> => {
    const gpu = await startWebGpu(loaders, activate, forced === 'webgpu');
    if (forced) reasons.push(`WebGPU was asked for (FOLDWISE_BACKEND=webgpu)${gpu.software ? ': this adapter is software, far slower than the CPU route' : ''}.`);
    return { name: 'webgpu', gradients: 'webgpu', badge: BADGES.webgpu, gpu, reasons, threads: cores };
  };
  if (forced === 'webgpu') {
    // Asked for by name: no quiet fallback to the CPU, which would make the request a lie.
    return webgpu().catch((error: unknown) => {
      throw new Error(`FOLDWISE_BACKEND=webgpu asks for WebGPU, but it cannot run here. ${explainFailure('webgpu', error)}`);
    });
  }
  if (forced === 'cpu') reasons.push('The graphics card is not used: FOLDWISE_BACKEND=cpu asks for the CPU.');

  const candidates = forced === 'cpu' ? (['tensorflow'] as const) : (['tensorflow-gpu', 'webgpu', 'tensorflow'] as const);
  for (const candidate of candidates) {
    try {
      if (candidate === 'webgpu') return await webgpu();
      await (candidate === 'tensorflow-gpu' ? loaders.tensorflowGpu() : loaders.tensorflow());
      if (!(await activate('tensorflow'))) throw new Error('the tensorflow backend registered but did not start');
      return { name: candidate, gradients: candidate, badge: BADGES[candidate], reasons, threads: cores };
    } catch (error) {
      reasons.push(explainFailure(candidate, error));
    }
  }
  try {
    const threads = await loaders.wasm(activate);
    return { name: 'wasm', gradients: 'cpu', badge: BADGES.wasm, reasons, threads };
  } catch (error) {
    reasons.push(explainFailure('wasm', error));
  }
  await activate('cpu');
  return { name: 'cpu', gradients: 'cpu', badge: BADGES.cpu, reasons, threads: 1 };
}

export interface BackendSelector {
  /** Selects once (tfjs's backend is process-wide), then answers the same choice. */
  ensure(): Promise<BackendInfo>;
  /** The choice plus the current extra notes. */
  describe(): Promise<BackendInfo>;
  /** Adds a source of extra notes (e.g. "feature extraction runs on onnxruntime"). Returns a remover. */
  addNotes(source: () => string[] | Promise<string[]>): () => void;
}

export function createBackendSelector(options: BackendSelectorOptions): BackendSelector {
  let choice: Promise<BackendInfo> | null = null;
  const sources = new Set<() => string[] | Promise<string[]>>();
  if (options.extraNotes) sources.add(options.extraNotes);
  const ensure = () => {
    choice ??= selectBackend(options);
    return choice;
  };
  const current = options.current ?? (() => (tf.engine() as unknown as { backendName: string | null }).backendName ?? null);
  const { activate } = options;
  return {
    ensure,
    async describe() {
      // Describing must not switch backends under running work (say, a training on 'cpu' when the
      // first 'engine/info' arrives): if tfjs was already computing, put its backend back.
      const before = choice ? null : current();
      const info = await ensure();
      if (before && current() !== before) await activate(before);
      // A note that fails to load must not hide which backend is active.
      const extra = (await Promise.all([...sources].map(async (source) => (await Promise.resolve().then(source).catch(() => [])) as string[]))).flat();
      return { ...info, reasons: [...info.reasons, ...extra] };
    },
    addNotes(source) {
      sources.add(source);
      return () => sources.delete(source);
    },
  };
}
