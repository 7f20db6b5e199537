// The engine on a graphics card through WebGPU: Dawn's Node binding (the optional npm package
// `webgpu`) talks to the driver itself (Vulkan on Linux, Direct3D 12 on Windows, Metal on macOS), so
// any modern GPU works with nothing installed beside Foldwise. tfjs-backend-webgpu runs the kernels.
// This module finds the adapter, says what it is, and registers tfjs's 'webgpu' backend on it with a
// device that, when lost (driver reset, laptop sleep), fails the job in plain words and is replaced
// for the next job. Only the engine's utility process loads it; the renderer never does.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { GpuAdapter } from '../../shared/types';

const nodeRequire = createRequire(__filename);

/** Why WebGPU was not taken, kept apart so backend.ts can say it in plain words. */
export class WebGpuUnavailable extends Error {
  constructor(
    readonly code: 'not-installed' | 'no-adapter' | 'software' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

interface Dawn {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let dawn: Dawn | null = null;

/**
 * Loads Dawn's native module. The package's own entry is an ES module (the engine is CommonJS on
 * Node 20, which cannot require one), so this loads the same platform build it would, directly.
 */
function loadDawn(): Dawn {
  if (dawn) return dawn;
  let root: string;
  try {
    root = path.dirname(nodeRequire.resolve('webgpu/package.json'));
  } catch (error) {
    throw new WebGpuUnavailable('not-installed', `the webgpu package is not installed (${(error as Error).message.split('\n')[0]})`);
  }
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  try {
    dawn = nodeRequire(path.join(root, 'dist', `${process.platform}-${arch}`, 'dawn.node')) as Dawn;
  } catch (error) {
    throw new WebGpuUnavailable('failed', `Dawn could not load on ${process.platform}-${arch} (${(error as Error).message.split('\n')[0]})`);
  }
  // The WebGPU constants (GPUBufferUsage, GPUMapMode...) that browsers define and tfjs-backend-webgpu uses.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  return dawn;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render|warp/i;

function apiOf(platform: NodeJS.Platform): GpuAdapter['api'] {
  // Dawn's default on each system; its adapter info does not name the API.
  if (platform === 'win32') return 'Direct3D 12';
  if (platform === 'darwin') return 'Metal';
  return 'Vulkan';
}

/** What an adapter is, from the fields WebGPU gives (tested with made-up adapters). */
export function describeAdapter(info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }, platform: NodeJS.Platform = process.platform): GpuAdapter {
  const words = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const name = info.description?.trim() || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'an unnamed graphics adapter';
  return { name, api: apiOf(platform), software: Boolean(info.isFallbackAdapter) || SOFTWARE.test(words) };
}

let gpu: GPU | null = null;
let adapterFound: GPUAdapter | null = null;
/** Set when the current device was lost; the message the job that ran into it fails with. */
let lost: string | null = null;
/** Our own destroy() on the way to a new device is not a loss to report. */
let replacing = false;

// Dawn has `adapter.info` (the spec's newer field); the @webgpu/types in node_modules predate it.
function infoOf(adapter: GPUAdapter): GPUAdapterInfo & { isFallbackAdapter?: boolean } {
  return (adapter as unknown as { info: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
}

async function requestAdapter(): Promise<GPUAdapter> {
  gpu ??= loadDawn().create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebGpuUnavailable('no-adapter', 'no graphics adapter answered (no GPU, or its driver has no Vulkan/Direct3D 12/Metal support)');
  return adapter;
}

/** Finds the adapter WebGPU would use; throws WebGpuUnavailable when there is none. */
export async function findGpu(): Promise<GpuAdapter> {
  adapterFound = await requestAdapter();
  return describeAdapter(infoOf(adapterFound));
}

/** A device with the limits tfjs-backend-webgpu asks for (its own factory's choice), watched for loss. */
async function openDevice(): Promise<{ device: GPUDevice; info: GPUAdapterInfo }> {
  const adapter = adapterFound ?? (await requestAdapter());
  adapterFound = null; // an adapter gives one device; a new device after a loss needs a new adapter
  const limits = adapter.limits;
  const requiredFeatures = (['timestamp-query', 'bgra8unorm-storage'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  lost = null;
  void device.lost.then((why) => {
    if (replacing) return;
    lost = `The graphics card stopped answering (${why.message || why.reason || 'device lost'}): the driver was reset or the computer went to sleep.`;
  });
  return { device, info: infoOf(adapter) };
}

let registered = false;

/** Registers tfjs's 'webgpu' backend on Foldwise's device (tfjs-backend-webgpu's own factory would pick its own adapter). */
export function registerWebGpuBackend(): void {
  if (registered) return;
  // Loaded without a `navigator.gpu`, tfjs-backend-webgpu registers nothing by itself: this factory does.
  const { WebGPUBackend } = nodeRequire('@tensorflow/tfjs-backend-webgpu') as typeof import('@tensorflow/tfjs-backend-webgpu');
  // Its backend checks for a browser's `navigator.gpu` when constructed (Node 20 has no navigator).
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu ?? loadDawn().create([]), configurable: true });
  tf.registerBackend('webgpu', async () => {
    const { device, info } = await openDevice();
    return new WebGPUBackend(device, info);
  });
  registered = true;
}

/** The device-loss message, when the device the current backend runs on was lost. */
export function lostDevice(): string | null {
  return lost;
}

/**
 * After a loss (and only then; otherwise it does nothing): drops the dead backend so that the next
 * job starts a new device. Tensors that lived
 * on the old one are gone; the engine keeps nothing there between jobs (models are read from disk).
 */
export function replaceLostDevice(): void {
  if (!lost || !registered) return;
  replacing = true;
  try {
    if (tf.findBackend('webgpu')) tf.removeBackend('webgpu'); // removes the factory too
  } finally {
    replacing = false;
  }
  registered = false;
  registerWebGpuBackend();
}

/** For tests: loses the current device as a driver reset would, through WebGPU's own destroy(). */
export function loseDeviceForTest(): void {
  const backend = tf.findBackend('webgpu') as unknown as { device?: GPUDevice } | null;
  backend?.device?.destroy();
}
