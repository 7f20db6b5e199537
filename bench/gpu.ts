// The engine on a real graphics card through WebGPU (issue 13), next to PyTorch on CUDA on the same
// card. Made for a lent GPU machine (scripts/gpu-bundle.sh packs it; docs/BENCHMARKS.md "GPU" has
// the command). Times, on the photos of ../shared/datasets/dogs_vs_cats (or BENCH_FOLDER):
//   extraction    photos/s of the backbone (mobilenet_v2_035) on WebGPU, and on the CPU route
//                 (onnxruntime, every core) for comparison: inference alone on decoded photos
//                 (median of BENCH_RUNS passes), and computeFeatures with a cold cache (decoding included)
//   top           a training step of the top of the backbone (train/top-of-backbone.ts) at the top
//                 step's batch size, from random 7x7 activations
//   wholeNetwork  a training step of the whole network + head at BENCH_BATCH (default 32), 224 px
//   torch         bench/fine_tune_torch.py: torchvision mobilenet_v2(width_mult=0.35), the same batch
//                 and size, on CUDA (timed between torch.cuda.synchronize calls)
//   ratio         WebGPU's whole-network seconds per photo over PyTorch's (goal: at most 2)
//   train         a whole default `foldwise train` (trainFolder, fine-tuning 'auto') with a cold cache
// Steps: medians of BENCH_RUNS (default 5) after warm-ups (the first WebGPU pass compiles shaders;
// its time is kept apart). Every section's result also goes to stderr as it ends, so a run that
// times out still leaves what it measured. BENCH_SECTIONS=extract,top,whole,torch,train picks some.
// WebGPU is forced (FOLDWISE_BACKEND=webgpu unless set): a headless card may have no /dev/dri render
// node, which the automatic choice looks for ("renderNodes" says what was there).
//
// BENCH_QUICK=1 is for trying the bench on a machine without a GPU (SwiftShader, see
// docs/BENCHMARKS.md): 8 photos, 1 step, batch 2 at 96 px, PyTorch on the CPU when CUDA is absent,
// training with --fine-tune off.
// Its numbers say that the bench runs, never how fast a GPU is; the output says so ("software").
//   npx tsx bench/gpu.ts
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from '../src/engine/backbones/catalog';
import { ensureBackend, switchBackend } from '../src/engine/compute';
import { decodeForModel, scanDataset, type ScannedImage } from '../src/engine/dataset';
import { computeFeatures, createExtractor } from '../src/engine/features';
import { sharedDir } from '../src/engine/paths';
import { headLoss } from '../src/engine/train/batches';
import { TRAIN_DEFAULTS } from '../src/engine/train/defaults';
import { loadTunableBackbone, parameterGroups } from '../src/engine/train/fine-tune';
import { createHead } from '../src/engine/train/head';
import type { JobContext } from '../src/engine/train/job';
import { createRandom } from '../src/engine/train/random';
import { trainFolder } from '../src/engine/train/run';
import { cutOf, topOfBackbone } from '../src/engine/train/top-of-backbone';
import { TrainConfig } from '../src/shared/schemas';
import { log, median, round } from './common';
import { optimizersFor, timeSteps, trainingStep } from './steps';

const quick = process.env.BENCH_QUICK === '1';
const runs = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 5));
const batch = Number(process.env.BENCH_BATCH ?? (quick ? 2 : 32));
const size = Number(process.env.BENCH_SIZE ?? (quick ? 96 : 224));
const photoLimit = Number(process.env.BENCH_PHOTOS ?? (quick ? 8 : 0));
// The train section's --fine-tune: the default (auto) unless BENCH_FINE_TUNE says otherwise; quick: off (SwiftShader takes many minutes for the top).
const fineTune = process.env.BENCH_FINE_TUNE ?? (quick ? 'off' : 'auto');
const sections = new Set((process.env.BENCH_SECTIONS ?? 'extract,top,whole,torch,train').split(','));
const backboneId = 'mobilenet_v2_035';
const cores = os.availableParallelism();
const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bench-gpu-'));
const perPhoto = (seconds: number, photos: number) => ({ photosPerSecond: round(photos / seconds), msPerPhoto: round((1000 * seconds) / photos) });

/** The photo folder: as given, or (BENCH_PHOTOS) an even share of each split and class copied to a temp folder. */
function photoFolder(): string {
  const root = process.env.BENCH_FOLDER ?? path.join(sharedDir(), 'datasets', 'dogs_vs_cats');
  if (!photoLimit) return root;
  const groups = fs.readdirSync(root).flatMap((split) => fs.readdirSync(path.join(root, split)).map((label) => path.join(split, label)));
  const files = groups.map((g) => fs.readdirSync(path.join(root, g)).sort().map((f) => path.join(g, f)));
  const total = files.reduce((n, list) => n + list.length, 0);
  for (const list of files) {
    for (const file of list.slice(0, Math.max(1, Math.round((photoLimit * list.length) / total)))) {
      fs.mkdirSync(path.dirname(path.join(temp, 'photos', file)), { recursive: true });
      fs.copyFileSync(path.join(root, file), path.join(temp, 'photos', file));
    }
  }
  return path.join(temp, 'photos');
}

/** A fresh, empty cache folder: each timing starts cold. */
function freshCache(name: string): void {
  process.env.FOLDWISE_CACHE = path.join(temp, `cache-${name}`);
}

async function extraction(route: 'webgpu' | 'onnxruntime', images: ScannedImage[]) {
  const spec = getBackbone(backboneId);
  freshCache(route);
  let started = performance.now();
  const extractor = await createExtractor(backboneId, { route, threads: cores });
  const setupSeconds = (performance.now() - started) / 1000;
  try {
    const perImage = spec.inputSize * spec.inputSize * 3;
    const pixels = new Uint8Array(images.length * perImage);
    (await Promise.all(images.map((im) => decodeForModel(im.path, spec.recipe)))).forEach((p, i) => pixels.set(p, i * perImage));
    const pass = async () => {
      for (let i = 0; i < images.length; i += batch) {
        const n = Math.min(batch, images.length - i);
        await extractor.embed(pixels.subarray(i * perImage, (i + n) * perImage), n);
      }
    };
    const inference = await timeSteps(pass, runs);
    const classes = [...new Set(images.map((i) => i.label))].map((name) => ({ name, images: { train: 0, valid: 0, test: 0 } }));
    started = performance.now();
    const cold = await computeFeatures({ summary: { classes }, images }, { backbone: backboneId, views: 0, tta: false, extractor, batchSize: batch });
    const coldSeconds = (performance.now() - started) / 1000;
    return {
      backend: extractor.backend,
      setupSeconds: round(setupSeconds),
      // The first pass: shader compilation on WebGPU, session start-up on onnxruntime.
      firstPassSeconds: round(inference.warmUpSeconds[0]!),
      inference: { photos: images.length, batch, ...perPhoto(median(inference.seconds), images.length), runs: inference.seconds.map(round) },
      coldCache: { photos: cold.stats.computed, seconds: round(coldSeconds), ...perPhoto(coldSeconds, cold.stats.computed) },
    };
  } finally {
    extractor.dispose();
  }
}

async function topStep() {
  const spec = getBackbone(backboneId);
  const { model } = await loadTunableBackbone(spec);
  const top = topOfBackbone(model, cutOf(spec));
  const head = createHead({ inputDim: spec.featureSize, classes: 2, hidden: 0, dropout: 0.2 }, createRandom(0));
  const topBatch = quick ? batch : TRAIN_DEFAULTS.top.batchSize;
  const x = tf.randomNormal([topBatch, ...top.shape], 0, 1, 'float32', 2) as tf.Tensor4D;
  const labels = Int32Array.from({ length: topBatch }, (_, i) => i % 2);
  const groups = [{ variables: top.variables }, { variables: head.variables }];
  const optimizers = optimizersFor(groups);
  try {
    const t = await timeSteps(() => trainingStep(() => headLoss(head.logits(top.features(x)), labels), groups, optimizers), runs, 2);
    return { cut: top.cut, batch: topBatch, ...perPhoto(median(t.seconds), topBatch), warmUpSeconds: t.warmUpSeconds.map(round), runs: t.seconds.map(round) };
  } finally {
    x.dispose();
    optimizers.forEach((o) => o.dispose());
    head.dispose();
    model.dispose();
  }
}

async function wholeStep() {
  const spec = getBackbone(backboneId);
  const { model, tunable } = await loadTunableBackbone(spec, size);
  const head = createHead({ inputDim: spec.featureSize, classes: 2, hidden: 0, dropout: 0.2 }, createRandom(0));
  const groups = parameterGroups(tunable, head);
  const optimizers = optimizersFor(groups);
  const pixels = tf.randomUniform([batch, size, size, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);
  try {
    const t = await timeSteps(() => trainingStep(() => headLoss(head.logits(tunable.apply(pixels, { training: false }) as tf.Tensor2D), labels), groups, optimizers), runs, 2);
    return { batch, size, ...perPhoto(median(t.seconds), batch), medianSecondsPerStep: round(median(t.seconds)), warmUpSeconds: t.warmUpSeconds.map(round), runs: t.seconds.map(round) };
  } finally {
    pixels.dispose();
    optimizers.forEach((o) => o.dispose());
    head.dispose();
    model.dispose(); // the tunable model shares its weights (fine-tune.ts atInputSize)
  }
}

/** PyTorch's step on CUDA (in quick mode: the CPU when there is no CUDA). BENCH_PYTHON, else the first python3 with torch. */
function torchStep() {
  const pythons = process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : ['python3', '/usr/bin/python3'];
  const python = pythons.find((p) => spawnSync(p, ['-c', 'import torch, torchvision']).status === 0);
  if (!python) throw new Error(`no python with torch and torchvision among ${pythons.join(', ')}`);
  const args = ['--device', quick ? 'auto' : 'cuda', '--batch', String(batch), '--size', String(size), '--runs', String(Math.max(runs, 5)), '--warmup', '3', '--threads', String(cores)];
  const child = spawnSync(python, [path.join(__dirname, 'fine_tune_torch.py'), ...args], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`fine_tune_torch.py failed: ${child.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const out = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { secondsPerStep: number; device: string };
  return { python, ...out, ...perPhoto(out.secondsPerStep, batch) };
}

async function train(root: string) {
  freshCache('train');
  const started = performance.now();
  let lastLog = 0;
  const ctx: JobContext = {
    job: 'bench',
    signal: new AbortController().signal,
    emit: (_event, payload) => {
      if (performance.now() - lastLog < 10_000) return;
      lastLog = performance.now();
      log(`train: ${JSON.stringify(payload).slice(0, 160)}`);
    },
  };
  const result = await trainFolder(TrainConfig.parse({ root, out: path.join(temp, 'run'), fineTune }), ctx);
  return {
    fineTuneAsked: fineTune,
    wallSeconds: round((performance.now() - started) / 1000),
    backend: result.backend,
    images: result.images,
    seconds: result.seconds,
    fineTune: result.fineTune,
    validAccuracy: round(result.valid.accuracy),
    testAccuracy: result.test ? round(result.test.accuracy) : null,
  };
}

async function section<T>(name: string, run: () => Promise<T> | T): Promise<T | { error: string } | null> {
  if (!sections.has(name.split(':')[0]!)) return null;
  log(`${name}: started`);
  try {
    const result = await run();
    log(`${name}: ${JSON.stringify(result)}`);
    return result;
  } catch (error) {
    log(`${name} failed: ${(error as Error).stack ?? error}`);
    return { error: (error as Error).message };
  }
}

function renderNodes(): string[] {
  try {
    return fs.readdirSync('/dev/dri');
  } catch {
    return [];
  }
}

async function main() {
  process.env.FOLDWISE_BACKEND ??= 'webgpu';
  const loadAtStart = os.loadavg();
  const info = await ensureBackend();
  await switchBackend('inference');
  const software = info.gpu?.software ?? true;
  log(`backend ${info.name} on ${info.gpu?.name ?? 'no GPU'}${software ? ' (SOFTWARE: not GPU numbers)' : ''}`);
  const root = photoFolder();
  const images = (await scanDataset(root)).images;

  const webgpu = await section('extract:webgpu', () => extraction('webgpu', images));
  const cpu = await section('extract:onnxruntime', () => extraction('onnxruntime', images));
  const top = await section('top', topStep);
  const whole = await section('whole', wholeStep);
  const torch = await section('torch', torchStep);
  const trained = await section('train', () => train(root));

  const ours = whole && 'msPerPhoto' in whole ? whole.msPerPhoto : null;
  const theirs = torch && 'msPerPhoto' in torch ? torch : null;
  const comparable = !software && theirs?.device !== 'cpu';
  console.log(
    JSON.stringify(
      {
        bench: 'gpu',
        quick,
        adapter: info.gpu ?? null,
        backend: info.name,
        backendReasons: info.reasons,
        renderNodes: renderNodes(),
        node: process.version,
        cores,
        photos: { folder: root, count: images.length },
        loadAverage: { start: loadAtStart.map(round), end: os.loadavg().map(round) },
        extraction: { webgpu, onnxruntimeCpu: cpu },
        top,
        wholeNetwork: whole,
        torch,
        // WebGPU's time per photo for the whole network's training step over PyTorch's (goal: at most 2).
        ratio:
          ours && theirs
            ? { webgpuOverTorchTimePerPhoto: round(ours / theirs.msPerPhoto), goal: 2, withinGoal: comparable ? ours / theirs.msPerPhoto <= 2 : null, comparable, ...(comparable ? {} : { why: 'software adapter or PyTorch on the CPU: not a GPU comparison' }) }
            : null,
        train: trained,
        note: software
          ? 'SOFTWARE ADAPTER (SwiftShader or similar): these numbers only show that the bench runs; they are not GPU numbers.'
          : 'WebGPU (Dawn) on the adapter named above; PyTorch on CUDA on the same card. Medians; first passes (shader compilation) apart.',
      },
      null,
      2,
    ),
  );
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(temp, { recursive: true, force: true }));
