// How fast can Foldwise fine-tune on this machine, next to PyTorch? Times training steps (forward,
// backward and the AdamW update) on the backend fine-tuning uses ('convolutions': wasm with
// Foldwise's gradient kernels where tfjs-node is missing):
//   wholeNetwork  the whole MobileNetV2-0.35 feature model + a 2-class head, 224 px, batch 16
//   top           the top of the backbone above its cut (last inverted-residual blocks + Conv_1, as
//                 train/top-of-backbone.ts runs them) + head, fed with 7x7 activations, at the top
//                 step's own batch size (TRAIN_DEFAULTS.top.batchSize)
//   torch         bench/fine_tune_torch.py: torchvision.models.mobilenet_v2(width_mult=0.35), batch 16,
//                 torch.set_num_threads(2), /usr/bin/python3. Its steps are interleaved with the
//                 whole-network ones (one of each in turn) so both see the same load on a shared machine.
// Prints one JSON object: photos per second (median of BENCH_RUNS steps, default 5, after a warm-up),
// the ratio Foldwise / PyTorch (the goal is at least 1/3), and the load average. When PyTorch cannot
// run, "torch" is null and "torchMissing" says why. BENCH_ESTIMATE=1 also runs the fine-tune estimate
// on a folder (argv[2], default hymenoptera) to compare with the measured step.
//   npx tsx bench/fine-tune.ts
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from '../src/engine/backbones/catalog';
import { loadFeatureModel } from '../src/engine/backbones/load';
import { sharedDir } from '../src/engine/paths';
import { TrainConfig } from '../src/shared/schemas';
import { switchBackend } from '../src/engine/compute';
import { AdamW } from '../src/engine/train/adamw';
import { headLoss } from '../src/engine/train/batches';
import { TRAIN_DEFAULTS } from '../src/engine/train/defaults';
import { estimateFineTune } from '../src/engine/train/fine-tune-estimate';
import { parameterGroups } from '../src/engine/train/fine-tune';
import { createHead, type Head } from '../src/engine/train/head';
import { createRandom } from '../src/engine/train/random';
import { cutOf, topOfBackbone } from '../src/engine/train/top-of-backbone';
import { log, median, round } from './common';

const backboneId = process.env.BENCH_BACKBONE ?? 'mobilenet_v2_035';
const runs = Number(process.env.BENCH_RUNS ?? 5);
const batch = Number(process.env.BENCH_BATCH ?? 16);
const PYTHON = '/usr/bin/python3';
// The comparison is with 2 threads; BENCH_TORCH_THREADS=1 shows PyTorch without thread contention on a busy machine.
const torchThreads = process.env.BENCH_TORCH_THREADS ?? '2';

/** One training step: gradients of the head's loss for `variables` in groups, then AdamW per group. */
function trainingStep(loss: () => tf.Scalar, groups: { variables: tf.Variable[] }[], optimizers: AdamW[]): void {
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(loss, groups.flatMap((g) => g.variables));
    groups.forEach((g, i) => optimizers[i]!.applyGradients(g.variables.map((v) => ({ name: v.name, tensor: grads[v.name]! }))));
    value.dataSync();
  });
}

function optimizersFor(groups: unknown[]): AdamW[] {
  return groups.map(() => {
    const o = new AdamW(0, TRAIN_DEFAULTS.weightDecay);
    o.setLearningRate(1e-5); // small: the timing must not depend on the weights drifting
    return o;
  });
}

/** PyTorch's step as a child process that times one step per request, or why it cannot run. */
async function startTorch(): Promise<{ step(): Promise<number>; about: Record<string, unknown>; stop(): void } | { missing: string }> {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.error) return { missing: `${PYTHON} could not run (${probe.error.message})` };
  if (probe.status !== 0) return { missing: `${PYTHON} has no torch/torchvision (${probe.stderr.trim().split('\n').at(-1)}); install Debian's python3-torch and python3-torchvision` };
  const child = spawn(PYTHON, [path.join(__dirname, 'fine_tune_torch.py'), '--serve', '--batch', String(batch), '--threads', torchThreads], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('the PyTorch bench stopped');
    return JSON.parse(line.value) as { ready?: Record<string, unknown>; seconds?: number };
  };
  const ready = await next();
  return {
    about: ready.ready!,
    step: async () => {
      child.stdin!.write('step\n');
      return (await next()).seconds!;
    },
    stop: () => child.stdin!.end(),
  };
}

async function main() {
  const loadAtStart = os.loadavg()[0]!;
  const spec = getBackbone(backboneId);
  const backend = await switchBackend('convolutions');
  log(`fine-tuning backend: ${backend}`);
  const model = await loadFeatureModel(spec.id);
  const head: Head = createHead({ inputDim: spec.featureSize, classes: 2, hidden: 0, dropout: 0.2 }, createRandom(0));
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);

  // The whole network, interleaved with PyTorch's step.
  const groups = parameterGroups(model, head);
  const optimizers = optimizersFor(groups);
  const pixels = tf.randomUniform([batch, spec.inputSize, spec.inputSize, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const wholeStep = () => trainingStep(() => headLoss(head.logits(model.apply(pixels, { training: false }) as tf.Tensor2D), labels), groups, optimizers);
  const torch = await startTorch();
  if ('missing' in torch) log(`PyTorch: ${torch.missing}`);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const started = performance.now();
    wholeStep();
    const seconds = (performance.now() - started) / 1000;
    const torchSeconds = 'step' in torch ? await torch.step() : NaN;
    // The first of each pays one-off allocations (and XNNPACK's operator setup): not counted.
    if (r > 0) {
      ours.push(seconds);
      theirs.push(torchSeconds);
    }
    log(`whole network, ${batch} photos: Foldwise ${seconds.toFixed(2)} s, PyTorch ${torchSeconds.toFixed(2)} s`);
  }
  if ('stop' in torch) torch.stop();
  pixels.dispose();
  optimizers.forEach((o) => o.dispose());

  // The top of the backbone from cached activations.
  const top = topOfBackbone(model, cutOf(spec));
  const topBatch = TRAIN_DEFAULTS.top.batchSize;
  const activations = tf.randomNormal([topBatch, ...top.shape], 0, 1, 'float32', 2) as tf.Tensor4D;
  const topLabels = Int32Array.from({ length: topBatch }, (_, i) => i % 2);
  const topGroups = [{ variables: top.variables }, { variables: head.variables }];
  const topOptimizers = optimizersFor(topGroups);
  const topTimes: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const started = performance.now();
    trainingStep(() => headLoss(head.logits(top.features(activations)), topLabels), topGroups, topOptimizers);
    if (r > 0) topTimes.push((performance.now() - started) / 1000);
  }
  log(`top of the backbone, ${topBatch} photos: ${topTimes.map((t) => t.toFixed(3)).join(', ')} s`);
  activations.dispose();
  topOptimizers.forEach((o) => o.dispose());

  let estimate: Record<string, unknown> | null = null;
  if (process.env.BENCH_ESTIMATE === '1') {
    const root = process.argv[2] ?? path.join(sharedDir(), 'datasets', 'hymenoptera');
    const started = performance.now();
    const e = await estimateFineTune(TrainConfig.parse({ root, backbone: backboneId, fineTune: 'whole' }), { signal: new AbortController().signal });
    estimate = { tookSeconds: round((performance.now() - started) / 1000), secondsPerPhoto: Number(/about ([\d.]+) s per photo/.exec(e.message)?.[1]), message: e.message };
  }
  head.dispose();
  model.dispose();

  const photosPerSecond = batch / median(ours);
  const torchPhotosPerSecond = 'step' in torch ? batch / median(theirs) : null;
  const pairRatios = ours.map((s, i) => theirs[i]! / s);
  console.log(
    JSON.stringify(
      {
        backbone: backboneId,
        backend,
        cores: os.availableParallelism(),
        loadAverage: { start: round(loadAtStart), end: round(os.loadavg()[0]!) },
        wholeNetwork: { batch, size: spec.inputSize, photosPerSecond: round(photosPerSecond), medianSecondsPerStep: round(median(ours)), runs: ours.map(round) },
        top: { cut: top.cut, activations: top.shape, batch: topBatch, photosPerSecond: round(topBatch / median(topTimes)), medianSecondsPerStep: round(median(topTimes)), runs: topTimes.map(round) },
        torch: 'step' in torch ? { ...torch.about, photosPerSecond: round(torchPhotosPerSecond!), medianSecondsPerStep: round(median(theirs)), runs: theirs.map(round) } : null,
        ...('missing' in torch ? { torchMissing: torch.missing } : {}),
        // Foldwise's photos/s over PyTorch's: of the medians, and the median of step-by-step ratios (same load).
        ratio: torchPhotosPerSecond ? { ofMedians: round(photosPerSecond / torchPhotosPerSecond), medianOfPairs: round(median(pairRatios)), goal: round(1 / 3) } : null,
        ...(estimate ? { estimate } : {}),
      },
      null,
      2,
    ),
  );
}

void main();
