// How good is the fine-tuning estimate? Runs the estimate on a folder (default hymenoptera), then
// times real full-size training passes of the same backbone on the same backend: one photo at a
// time (what fine-tuning does on the cpu backend) and, with BENCH_BATCH=n, n photos at once.
// Prints one JSON object: the estimate's own time, its seconds per photo and range, and the
// measured seconds per photo (median of BENCH_RUNS, default 3). Numbers taken while other work
// runs are pessimistic for both.
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from '../src/engine/backbones/catalog';
import { loadFeatureModel } from '../src/engine/backbones/load';
import { sharedDir } from '../src/engine/paths';
import { TrainConfig } from '../src/shared/schemas';
import { switchBackend } from '../src/engine/compute';
import { headLoss } from '../src/engine/train/batches';
import { estimateFineTune } from '../src/engine/train/fine-tune-estimate';
import { parameterGroups } from '../src/engine/train/fine-tune';
import { createHead } from '../src/engine/train/head';
import { createRandom } from '../src/engine/train/random';
import { log, median, round } from './common';

const root = process.argv[2] ?? path.join(sharedDir(), 'datasets', 'hymenoptera');
const backboneId = process.env.BENCH_BACKBONE ?? 'mobilenet_v2_035';
const runs = Number(process.env.BENCH_RUNS ?? 3);
const batch = Number(process.env.BENCH_BATCH ?? 0);

/** Seconds per photo of full-size forward+backward passes of `photos` photos at once. */
async function measure(photos: number): Promise<number[]> {
  const spec = getBackbone(backboneId);
  await switchBackend('convolutions'); // the compute owner puts the fast cpu filter gradients in place
  const model = await loadFeatureModel(spec.id);
  const head = createHead({ inputDim: spec.featureSize, classes: 2, hidden: 0, dropout: 0.2 }, createRandom(0));
  const variables = parameterGroups(model, head).flatMap((g) => g.variables);
  const x = tf.randomUniform([photos, spec.inputSize, spec.inputSize, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const labels = Int32Array.from({ length: photos }, (_, i) => i % 2);
  const times: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const started = performance.now();
    tf.tidy(() => Object.values(tf.variableGrads(() => headLoss(head.logits(model.apply(x, { training: false }) as tf.Tensor2D), labels), variables).grads)[0]!.dataSync());
    // The first pass pays one-off allocations, as the estimate's first does; it is not counted.
    if (r > 0) times.push((performance.now() - started) / 1000 / photos);
    log(`${photos} photo(s) at ${spec.inputSize}px: ${((performance.now() - started) / 1000).toFixed(2)} s`);
  }
  tf.dispose([x]);
  head.dispose();
  model.dispose();
  return times;
}

async function main() {
  const load = os.loadavg()[0]!;
  const started = performance.now();
  const estimate = await estimateFineTune(TrainConfig.parse({ root, backbone: backboneId, fineTune: true }), { signal: new AbortController().signal });
  const estimateSeconds = (performance.now() - started) / 1000;
  log(estimate.message);
  const perPhoto = Number(/about ([\d.]+) s per photo/.exec(estimate.message)?.[1]);
  const single = await measure(1);
  const batched = batch > 1 ? await measure(batch) : null;
  console.log(
    JSON.stringify(
      {
        backbone: backboneId,
        backend: estimate.backend,
        loadAverageAtStart: round(load),
        cores: os.availableParallelism(),
        estimate: { tookSeconds: round(estimateSeconds), secondsPerPhoto: perPhoto, totalSeconds: round(estimate.seconds), low: round(estimate.low!), high: round(estimate.high!), method: estimate.method },
        measured: {
          onePhotoPerPass: { medianSecondsPerPhoto: round(median(single)), runs: single.map(round) },
          ...(batched ? { [`${batch}PhotosPerPass`]: { medianSecondsPerPhoto: round(median(batched)), runs: batched.map(round) } } : {}),
        },
      },
      null,
      2,
    ),
  );
}

void main();
