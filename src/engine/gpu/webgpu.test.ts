// The engine on WebGPU, checked against the CPU route. These machines have no GPU, so Dawn runs on
// SwiftShader, the software Vulkan driver that Debian's chromium package ships (.ci/run installs it
// and the Vulkan loader): correct but slow, so every input here is small. On CI these tests must
// run; elsewhere, without SwiftShader, they are skipped with the reason printed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmax } from '../../shared/argmax';
import type { CallContext } from '../../shared/rpc';
import { TrainConfig } from '../../shared/schemas';
import { getBackbone } from '../backbones/catalog';
import { ensureBackend, overridePreference, withBackend } from '../compute';
import { scanDataset, type ScannedImage } from '../dataset';
import { exportModel } from '../export/export';
import { predictFiles } from '../export/predict';
import { createPredictor } from '../export/predictor';
import { createExtractor } from '../features';
import { createHeatmapper } from '../interpret/heatmap';
import { readRun } from '../run';
import { fineTune, loadTunableBackbone } from '../train/fine-tune';
import { createHead } from '../train/head';
import { makePhotos } from '../train/photos.test-helpers';
import { createRandom } from '../train/random';
import { trainFolder } from '../train/run';
import { describeAdapter, loseDeviceForTest } from './webgpu';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const hasVulkanLoader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1'].some((f) => fs.existsSync(f));
const available = process.platform === 'linux' && fs.existsSync(SWIFTSHADER) && hasVulkanLoader;
if (!available) {
  const why = `WebGPU tests skipped: they need SwiftShader's Vulkan driver (${SWIFTSHADER}, from Debian's chromium) and the Vulkan loader (libvulkan1); .ci/run installs both.`;
  if (process.env.CI) throw new Error(`${why} On CI they must run.`);
  console.warn(why);
}

let tmp: string;
const quiet: CallContext = { job: 'webgpu', signal: new AbortController().signal, emit: () => undefined };

beforeAll(() => {
  if (!available) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-webgpu-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  // Dawn reads these when it starts (this file runs in its own process).
  process.env.VK_ICD_FILENAMES = SWIFTSHADER;
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
  process.env.FOLDWISE_BACKEND = 'webgpu';
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs `fn` on the CPU route (wasm) instead of WebGPU, for the reference answer. */
async function onCpu<T>(need: 'inference' | 'convolutions', fn: () => Promise<T>): Promise<T> {
  const undo = overridePreference(need, ['wasm']);
  try {
    return await withBackend(need, fn);
  } finally {
    undo();
  }
}

describe('describeAdapter', () => {
  it('tells hardware from software adapters and names the API by system', () => {
    expect(describeAdapter({ vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA GeForce RTX 4060 Laptop GPU' }, 'win32')).toEqual({ name: 'NVIDIA GeForce RTX 4060 Laptop GPU', api: 'Direct3D 12', software: false });
    expect(describeAdapter({ vendor: 'apple', architecture: 'metal-3', description: '' }, 'darwin')).toEqual({ name: 'apple metal-3', api: 'Metal', software: false });
    expect(describeAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true }, 'linux')).toMatchObject({ software: true, api: 'Vulkan' });
    expect(describeAdapter({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, 'linux').software).toBe(true);
  });
});

describe.skipIf(!available)('the engine on WebGPU (SwiftShader)', () => {
  it('is chosen when asked for, and names the adapter as software', async () => {
    const info = await ensureBackend();
    expect(info).toMatchObject({ name: 'webgpu', badge: 'GPU', gpu: { api: 'Vulkan', software: true } });
    expect(info.gpu!.name).toMatch(/SwiftShader/);
    expect(info.reasons.join(' ')).toMatch(/FOLDWISE_BACKEND=webgpu.*software/);
  });

  it('extracts the same features as the CPU route (within 1e-3)', async () => {
    const spec = getBackbone('mobilenet_v1_025');
    const n = 2;
    const pixels = Uint8Array.from({ length: n * spec.inputSize ** 2 * 3 }, (_, i) => (i * 7919 + (i >> 9)) % 256);
    const embed = async () => {
      const extractor = await createExtractor(spec.id, { route: 'tfjs' });
      try {
        return { features: await extractor.embed(pixels, n), backend: tf.getBackend() };
      } finally {
        extractor.dispose();
      }
    };
    const gpu = await withBackend('inference', embed);
    const cpu = await onCpu('inference', embed);
    expect([gpu.backend, cpu.backend]).toEqual(['webgpu', 'wasm']);
    const diff = Math.max(...gpu.features.map((v, i) => Math.abs(v - cpu.features[i]!)));
    expect(diff).toBeLessThan(1e-3);
    expect(Math.max(...cpu.features)).toBeGreaterThan(0.1); // real features, not zeros on both sides
  });

  it('takes one fine-tuning step to the same loss and weights as the CPU route', async () => {
    const spec = getBackbone('mobilenet_v1_025');
    const root = path.join(tmp, 'tiny');
    await makePhotos(root, 4);
    const images: ScannedImage[] = (await scanDataset(root, { validFraction: 0.01 })).images;
    const train = { images, labels: Int32Array.from(images, (i) => (i.label === 'blue' ? 0 : 1)) };
    // One batch of all 8 photos at 32x32: one step of backbone and head, from the same start.
    const oneStep = async () => {
      const loaded = await loadTunableBackbone(spec, 32);
      const head = createHead({ inputDim: spec.featureSize, classes: 2, hidden: 0, dropout: 0 }, createRandom(3));
      const before = await loaded.tunable.trainableWeights.at(-3)!.read().data();
      const losses: number[] = [];
      await fineTune({ backbone: loaded.tunable, spec: loaded.spec, head, train, validate: async () => ({ loss: 0, accuracy: 0 }), epochs: 1, maxLr: 1e-3, seed: 5, batchSize: 8, firstEpoch: 1, onBatch: (b) => losses.push(b.loss) });
      const after = await loaded.tunable.trainableWeights.at(-3)!.read().data();
      const headKernel = await head.variables[0]!.data();
      const backend = tf.getBackend();
      head.dispose();
      loaded.model.dispose();
      return { loss: losses[0]!, moved: Float32Array.from(after, (v, i) => v - before[i]!), headKernel, backend };
    };
    const gpu = await withBackend('convolutions', oneStep);
    const cpu = await onCpu('convolutions', oneStep);
    expect([gpu.backend, cpu.backend]).toEqual(['webgpu', 'wasm']);
    expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThan(1e-4);
    // AdamW's first step moves each weight by about the step's learning rate (one-cycle starts at
    // maxLr / 25, and the backbone's layers train at a fraction of the head's rate) times the sign
    // of its gradient, so a gradient within float error of 0 may flip sign between backends:
    // compare the moves, allowing 1% of weights to differ, each by at most two steps.
    const step = Math.max(...cpu.moved.map(Math.abs));
    expect(step).toBeGreaterThan(1e-6); // the step did move the backbone (4e-6 here)
    const differ = gpu.moved.filter((v, i) => Math.abs(v - cpu.moved[i]!) > 0.05 * step).length;
    expect(differ / gpu.moved.length).toBeLessThan(0.01);
    expect(Math.max(...gpu.moved.map((v, i) => Math.abs(v - cpu.moved[i]!)))).toBeLessThanOrEqual(2.5 * step);
    expect(Math.max(...gpu.headKernel.map((v, i) => Math.abs(v - cpu.headKernel[i]!)))).toBeLessThan(0.05 * step);
  });

  it('trains a run on the GPU (foldwise train --fine-tune off) whose checking photos the CPU route predicts the same, with the same heatmaps', async () => {
    const root = path.join(tmp, 'photos');
    await makePhotos(root, 4);
    const out = path.join(tmp, 'run');
    const result = await trainFolder(TrainConfig.parse({ root, out, backbone: 'mobilenet_v1_025', epochs: 4, fineTune: 'off', validFraction: 0.25, seed: 3 }), quiet);
    expect(result.backend).toMatch(/^webgpu \(SwiftShader.*, Vulkan, software\)$/);
    const run = await readRun(out);
    const checking = run.predictions!.filter((p) => p.split === 'valid');
    expect(checking.length).toBeGreaterThan(0);

    // The ONNX export runs on onnxruntime (CPU): its verification and its answers match the run's.
    const exported = path.join(tmp, 'export-onnx');
    const report = await exportModel(out, { format: 'onnx', out: exported });
    expect(report.verified.agreement).toBe(1);
    const predictor = await createPredictor(exported);
    const predictions = await predictFiles(predictor, checking.map((p) => p.path!));
    predictor.dispose();
    predictions.forEach((p, i) => {
      const recorded = checking[i]!.probabilities;
      expect(p.label, p.file).toBe(run.classes[argmax(recorded)]);
      expect(Math.max(...run.classes.map((c, k) => Math.abs(p.probabilities![c]! - recorded[k]!))), p.file).toBeLessThan(1e-3);
    });

    // Grad-CAM of one checking photo, on the GPU and on the CPU route.
    const heat = async () => {
      const heatmapper = createHeatmapper();
      try {
        return await heatmapper.heatmap(out, checking[0]!.file, { size: 64 });
      } finally {
        heatmapper.dispose();
      }
    };
    const gpu = await withBackend('inference', heat);
    const cpu = await onCpu('inference', heat);
    expect(correlation(gpu.cam, cpu.cam)).toBeGreaterThan(0.99);
    expect(Math.abs(gpu.probability - cpu.probability)).toBeLessThan(1e-3);
  });

  it('fails a job whose graphics card is lost in plain words, and runs the next one on a new device', async () => {
    const lost = withBackend('inference', async () => {
      loseDeviceForTest();
      return tf.square(tf.ones([4])).data();
    });
    await expect(lost).rejects.toMatchObject({ code: 'gpu/device-lost', message: expect.stringMatching(/graphics card stopped answering.*nothing saved was lost/) });
    const next = await withBackend('inference', async () => ({ backend: tf.getBackend(), values: Array.from(await tf.add(tf.ones([2]), 2).data()) }));
    expect(next).toEqual({ backend: 'webgpu', values: [3, 3] });
  });
});

function correlation(a: Float32Array, b: Float32Array): number {
  const mean = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / x.length;
  const ma = mean(a);
  const mb = mean(b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}
