// Where a training step of the top of the backbone (train/top-of-backbone.ts) spends its time: tfjs's
// per-kernel profile of one step of 32 photos on the top's backend (TOP_NEED), and that step's milliseconds per
// photo (median of 5). Prints one JSON object. Numbers taken while other work runs are pessimistic.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from '../src/engine/backbones/catalog';
import { loadFeatureModel } from '../src/engine/backbones/load';
import { switchBackend } from '../src/engine/compute';
import { headLoss } from '../src/engine/train/batches';
import { createHead } from '../src/engine/train/head';
import { createRandom } from '../src/engine/train/random';
import { cutOf, TOP_NEED, topOfBackbone } from '../src/engine/train/top-of-backbone';
import { median, round } from './common';

async function main() {
  const backend = await switchBackend(TOP_NEED);
  const spec = getBackbone(process.env.BENCH_BACKBONE ?? 'mobilenet_v2_035');
  const model = await loadFeatureModel(spec.id);
  const top = topOfBackbone(model, process.env.BENCH_CUT ?? cutOf(spec));
  const head = createHead({ inputDim: spec.featureSize, classes: 2, hidden: 0, dropout: 0.2 }, createRandom(0));
  const batch = 32;
  const x = tf.randomNormal([batch, ...top.shape]) as tf.Tensor4D;
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 2);
  const step = () => tf.tidy(() => Object.values(tf.variableGrads(() => headLoss(head.logits(top.features(x)), labels), [...top.variables, ...head.variables]).grads)[0]!.dataSync());
  step();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / batch);
  }
  const profile = await tf.profile(step);
  const byKernel = new Map<string, number>();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  const kernels = Object.fromEntries([...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([name, ms]) => [name, round(ms / total)]));
  process.stdout.write(`${JSON.stringify({ backend, cut: top.cut, msPerPhoto: round(median(times)), kernelCalls: profile.kernels.length, kernelShare: kernels, load: os.loadavg().map(round) }, null, 2)}\n`);
}
void main();
