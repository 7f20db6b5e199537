// How fast can Foldwise fine-tune on this machine, next to PyTorch? Times training steps (forward,
// backward and the AdamW update) on the backend fine-tuning uses ('convolutions': wasm with
// Foldwise's gradient kernels where tfjs-node is missing):
//   wholeNetwork  the whole MobileNetV2-0.35 feature model + a 2-class head, 224 px, batch 16
//   top           the top of the backbone above its cut (last inverted-residual blocks + Conv_1, as
//                 train/top-of-backbone.ts runs them) + head, fed with 7x7 activations, at the top
//                 step's own batch size (TRAIN_DEFAULTS.top.batchSize)
//   topLayers     the same top run through the model's own Keras layers (tfjs's conv2d, depthwise and
//                 batch norm ops, so Foldwise's wasm gradient kernels) instead of top-of-backbone.ts's
//                 plain tensor ops: which way the top step should go
//   torch         bench/fine_tune_torch.py: torchvision.models.mobilenet_v2(width_mult=0.35), batch 16,
//                 torch.set_num_threads(2), /usr/bin/python3. Its steps are interleaved with the
//                 whole-network ones (one of each in turn) so both see the same load on a shared machine;
//                 so are those of a second, one-thread PyTorch (torchOneThread), for its CPU time.
// Prints one JSON object: photos per second (median of BENCH_RUNS steps, default 5, after a warm-up),
// the ratio Foldwise / PyTorch (the goal is at least 1/3), and the load average. Other work on a
// shared machine makes wall-clock numbers swing by 2-4x, so each step's CPU time is kept too, and
// 'quiet' numbers are derived from it: Foldwise's wasm runs on one thread (its CPU time is its
// time on an idle core; the GC's helper threads count against it), PyTorch's CPU time is divided by
// its 2 threads (perfect scaling: favourable to PyTorch). When PyTorch cannot
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
import { headLoss } from '../src/engine/train/batches';
import { TRAIN_DEFAULTS } from '../src/engine/train/defaults';
import { estimateFineTune } from '../src/engine/train/fine-tune-estimate';
import { parameterGroups } from '../src/engine/train/fine-tune';
import { createHead, type Head } from '../src/engine/train/head';
import { createRandom } from '../src/engine/train/random';
import { cutOf, topOfBackbone } from '../src/engine/train/top-of-backbone';
import { log, median, round } from './common';
import { optimizersFor, timeSteps, trainingStep } from './steps';

const backboneId = process.env.BENCH_BACKBONE ?? 'mobilenet_v2_035';
const runs = Number(process.env.BENCH_RUNS ?? 5);
const batch = Number(process.env.BENCH_BATCH ?? 16);
const PYTHON = '/usr/bin/python3';

/** The top above `cut` through the trunk's own layers (weights shared), from cut activations to features. */
function topThroughLayers(model: tf.LayersModel, cut: string): (x: tf.Tensor4D) => tf.Tensor2D {
  const trunk = model.getLayer('trunk') as unknown as tf.LayersModel;
  const names = trunk.layers.map((l) => l.name);
  const layers = trunk.layers.slice(names.indexOf(cut) + 1);
  const cutTensor = trunk.getLayer(cut).output as tf.SymbolicTensor;
  type Node = { inputTensors: tf.SymbolicTensor[]; outputTensors: tf.SymbolicTensor[] };
  return (x) => {
    const values = new Map<number, tf.Tensor>([[cutTensor.id, x]]);
    for (const layer of layers) {
      const node = (layer as unknown as { inboundNodes: Node[] }).inboundNodes[0]!;
      const inputs = node.inputTensors.map((t) => values.get(t.id)!);
      values.set(node.outputTensors[0]!.id, layer.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: false }) as tf.Tensor);
    }
    return tf.mean(values.get(trunk.outputs[0]!.id)!, [1, 2]) as tf.Tensor2D;
  };
}

/** PyTorch's step as a child process that times one step per request, or why it cannot run. */
async function startTorch(threads: number): Promise<{ step(): Promise<{ seconds: number; cpuSeconds: number }>; about: Record<string, unknown>; stop(): void } | { missing: string }> {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.error) return { missing: `${PYTHON} could not run (${probe.error.message})` };
  if (probe.status !== 0) return { missing: `${PYTHON} has no torch/torchvision (${probe.stderr.trim().split('\n').at(-1)}); install Debian's python3-torch and python3-torchvision` };
  const child = spawn(PYTHON, [path.join(__dirname, 'fine_tune_torch.py'), '--serve', '--batch', String(batch), '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error('the PyTorch bench stopped');
    return JSON.parse(line.value) as { ready?: Record<string, unknown>; seconds?: number; cpuSeconds?: number };
  };
  const ready = await next();
  return {
    about: ready.ready!,
    step: async () => {
      child.stdin!.write('step\n');
      const { seconds, cpuSeconds } = await next();
      return { seconds: seconds!, cpuSeconds: cpuSeconds! };
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
  const torch = await startTorch(2);
  if ('missing' in torch) log(`PyTorch: ${torch.missing}`);
  // One thread too: its CPU time is not inflated by threads waiting for each other on a busy machine.
  const torchOne = 'missing' in torch ? torch : await startTorch(1);
  const theirsOneCpu: number[] = [];
  const ours: number[] = [];
  const oursCpu: number[] = [];
  const theirs: number[] = [];
  const theirsCpu: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await wholeStep();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const torchStep = 'step' in torch ? await torch.step() : { seconds: NaN, cpuSeconds: NaN };
    const torchOneStep = 'step' in torchOne ? await torchOne.step() : { seconds: NaN, cpuSeconds: NaN };
    // The first of each pays one-off allocations (and XNNPACK's operator setup): not counted.
    if (r > 0) {
      ours.push(seconds);
      oursCpu.push((used.user + used.system) / 1e6);
      theirs.push(torchStep.seconds);
      theirsCpu.push(torchStep.cpuSeconds);
      theirsOneCpu.push(torchOneStep.cpuSeconds);
    }
    log(`whole network, ${batch} photos: Foldwise ${seconds.toFixed(2)} s (cpu ${((used.user + used.system) / 1e6).toFixed(2)} s), PyTorch ${torchStep.seconds.toFixed(2)} s (cpu ${torchStep.cpuSeconds.toFixed(2)} s)`);
  }
  if ('stop' in torch) torch.stop();
  if ('stop' in torchOne) torchOne.stop();
  pixels.dispose();
  optimizers.forEach((o) => o.dispose());

  // The top of the backbone from cached activations.
  const top = topOfBackbone(model, cutOf(spec));
  const topBatch = TRAIN_DEFAULTS.top.batchSize;
  const activations = tf.randomNormal([topBatch, ...top.shape], 0, 1, 'float32', 2) as tf.Tensor4D;
  const topLabels = Int32Array.from({ length: topBatch }, (_, i) => i % 2);
  const topGroups = [{ variables: top.variables }, { variables: head.variables }];
  const topOptimizers = optimizersFor(topGroups);
  const { seconds: topTimes, cpuSeconds: topCpu } = await timeSteps(() => trainingStep(() => headLoss(head.logits(top.features(activations)), topLabels), topGroups, topOptimizers), runs);
  log(`top of the backbone, ${topBatch} photos: ${topTimes.map((t) => t.toFixed(3)).join(', ')} s`);
  const throughLayers = topThroughLayers(model, top.cut);
  const layerTimes = await timeSteps(() => trainingStep(() => headLoss(head.logits(throughLayers(activations)), topLabels), topGroups, topOptimizers), runs);
  log(`top through the model's layers, ${topBatch} photos: ${layerTimes.seconds.map((t) => t.toFixed(3)).join(', ')} s`);
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
  const quietPhotosPerSecond = batch / median(oursCpu);
  const torchQuietPhotosPerSecond = 'step' in torch ? batch / (median(theirsCpu) / Number(torch.about.threads)) : null;
  // PyTorch's one-thread CPU time, scaled to two threads as if they split the work perfectly.
  const torchQuietFromOneThread = 'step' in torchOne ? (2 * batch) / median(theirsOneCpu) : null;
  console.log(
    JSON.stringify(
      {
        backbone: backboneId,
        backend,
        cores: os.availableParallelism(),
        loadAverage: { start: round(loadAtStart), end: round(os.loadavg()[0]!) },
        // The wasm heap holds a whole batch's activations for the backward pass (fine-tune.ts passes 8 at a time).
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
        wholeNetwork: { batch, size: spec.inputSize, photosPerSecond: round(photosPerSecond), quietPhotosPerSecond: round(quietPhotosPerSecond), medianSecondsPerStep: round(median(ours)), runs: ours.map(round), cpuSeconds: oursCpu.map(round) },
        top: { cut: top.cut, activations: top.shape, batch: topBatch, photosPerSecond: round(topBatch / median(topTimes)), quietPhotosPerSecond: round(topBatch / median(topCpu)), medianSecondsPerStep: round(median(topTimes)), runs: topTimes.map(round), cpuSeconds: topCpu.map(round) },
        topLayers: { batch: topBatch, photosPerSecond: round(topBatch / median(layerTimes.seconds)), quietPhotosPerSecond: round(topBatch / median(layerTimes.cpuSeconds)), runs: layerTimes.seconds.map(round), cpuSeconds: layerTimes.cpuSeconds.map(round) },
        torch: 'step' in torch ? { ...torch.about, photosPerSecond: round(torchPhotosPerSecond!), quietPhotosPerSecond: round(torchQuietPhotosPerSecond!), medianSecondsPerStep: round(median(theirs)), runs: theirs.map(round), cpuSeconds: theirsCpu.map(round) } : null,
        torchOneThread: 'step' in torchOne ? { threads: 1, quietPhotosPerSecond: round(batch / median(theirsOneCpu)), cpuSeconds: theirsOneCpu.map(round) } : null,
        ...('missing' in torch ? { torchMissing: torch.missing } : {}),
        // Foldwise's photos/s over PyTorch's: wall clock (of the medians, and the median of step-by-step
        // ratios under the same load), and from CPU time ('quiet', see the header).
        // quietAgainstTwiceOneThread: against PyTorch's one-thread CPU time halved (perfect 2-thread scaling): the
        // strictest of the three on a busy machine.
        ratio: torchPhotosPerSecond
          ? { ofMedians: round(photosPerSecond / torchPhotosPerSecond), medianOfPairs: round(median(pairRatios)), quiet: round(quietPhotosPerSecond / torchQuietPhotosPerSecond!), quietAgainstTwiceOneThread: round(quietPhotosPerSecond / torchQuietFromOneThread!), goal: round(1 / 3) }
          : null,
        ...(estimate ? { estimate } : {}),
      },
      null,
      2,
    ),
  );
}

void main();
