// Google's LiteRT.js (@litertjs/core: the TFLite runtime built for WebAssembly, with XNNPACK) in
// plain Node, to run exported .tflite files the way an app would. LiteRT.js is written for browsers
// and web workers; it runs in Node with three stand-ins for what a worker has: `self`, a `require`
// for the Emscripten glue, and an `importScripts` that runs the glue file in this global scope.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { joinFloats } from '../../../shared/join-floats';

type LiteRt = typeof import('@litertjs/core');
export type CompiledModel = Awaited<ReturnType<LiteRt['loadAndCompile']>>;

let loading: Promise<LiteRt> | null = null;

/** The LiteRT.js module with its wasm runtime loaded (once per process). */
export function liteRt(): Promise<LiteRt> {
  loading ??= load().catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

// A module of one relaxed-SIMD instruction: the probe LiteRT.js itself uses to choose its build.
const RELAXED_SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11]);

/**
 * Relaxed SIMD (fused multiply-add among others) lets LiteRT.js load its faster build: about 1.2-1.4x
 * on exported MobileNets here. Electron's V8 has it on; Node 20's has it behind a flag, which V8 reads
 * when it compiles a module, so turning it on before LiteRT.js loads is enough (worker threads share it).
 */
function allowRelaxedSimd(): void {
  if (!WebAssembly.validate(RELAXED_SIMD_PROBE)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
}

async function load(): Promise<LiteRt> {
  allowRelaxedSimd();
  // __filename, not import.meta.url: the built bundles are CommonJS, where import.meta is empty.
  const require = createRequire(__filename);
  const wasmDir = path.join(path.dirname(require.resolve('@litertjs/core/package.json')), 'wasm');
  const g = globalThis as Record<string, unknown>;
  g.self ??= globalThis;
  g.require ??= require;
  g.importScripts ??= (...urls: string[]) => {
    for (const url of urls) {
      const file = url.startsWith('file:') ? new URL(url).pathname : url;
      vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
    }
  };
  const litert = (await import('@litertjs/core')) as LiteRt;
  // LiteRT logs its start (INFO lines, and that Node has no WebGPU) on the console; the glue binds
  // console's functions while it loads, so filtering them meanwhile keeps its chatter out for good.
  const saved = { log: console.log, warn: console.warn, error: console.error };
  for (const key of ['log', 'warn', 'error'] as const) {
    const original = saved[key];
    console[key] = (...args: unknown[]) => {
      if (!LITERT_CHATTER.test(String(args[0]))) original(...args);
    };
  }
  // The glue sees Node (process exists) and looks for its .wasm beside the global __dirname, which it
  // reads once while loading. Set it for that time only: an eval'd worker thread already has one ('.').
  const dirnameBefore = Object.getOwnPropertyDescriptor(g, '__dirname');
  try {
    g.__dirname = wasmDir;
    // The folder, not a file: LiteRT.js picks the build this Node can compile (with relaxed SIMD, the fast one).
    await litert.loadLiteRt(`${wasmDir}/`);
  } finally {
    Object.assign(console, saved);
    if (dirnameBefore) Object.defineProperty(g, '__dirname', dirnameBefore);
    else delete g.__dirname;
  }
  return litert;
}

const LITERT_CHATTER = /^(INFO|WARNING|VERBOSE): |^Failed to create default WebGPU device/;

/** Compiles a .tflite file's bytes for LiteRT.js's CPU (wasm/XNNPACK) accelerator. */
export async function compileTflite(bytes: Uint8Array): Promise<{ litert: LiteRt; model: CompiledModel }> {
  const litert = await liteRt();
  return { litert, model: await litert.loadAndCompile(bytes, { accelerator: 'wasm' }) };
}

/** Runs a batch-1 image model on each of `n` images in turn; returns the outputs one after another. */
export async function runEach(litert: LiteRt, model: CompiledModel, pixels: Float32Array, n: number, shape: number[]): Promise<Float32Array> {
  const perImage = pixels.length / n;
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const input = new litert.Tensor(pixels.slice(i * perImage, (i + 1) * perImage), shape);
    try {
      const outputs = await model.run(input);
      try {
        rows.push(new Float32Array(outputs[0]!.toTypedArray() as Float32Array));
      } finally {
        for (const o of outputs) o.delete();
      }
    } finally {
      input.delete();
    }
  }
  return joinFloats(rows);
}
