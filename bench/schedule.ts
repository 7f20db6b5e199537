// How long the head should train on a big folder: a budget of updates (batches) rather than 30 epochs.
// Scored on VALIDATION photos only (carved from training photos by benchSplit; test photos never
// decide), for each shared dataset and for the ~12,000-photo folder of bench/big-folder.ts, where
// several caps bind. Each cap is the recipe of src/engine/train/defaults.ts with
// epochs = headEpochsFor(training photos, { maxUpdates: cap }); 'none' is 30 epochs whatever the size.
//
//   FOLDWISE_CACHE=<reused> npx tsx bench/schedule.ts   (env: BENCH_SEEDS default 3, BENCH_CAPS,
//   BENCH_DATASETS default dogs_vs_cats,flowers5,big; BENCH_BIG_PHOTOS default 12000)
//
// On the big folder only the real class (flowers5-daisy) can be learnt; its pseudo-classes (daisy-00,
// daisy-01, ...) are noise, so besides pseudo-class accuracy it reports realAccuracy: the predicted
// pseudo-class's real class against the photo's. Prints one JSON object with the seconds each took.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { switchBackend } from '../src/engine/compute';
import { scanDataset } from '../src/engine/dataset';
import { computeFeatures, type DatasetFeatures } from '../src/engine/features';
import { argmax } from '../src/shared/argmax';
import { TRAIN_DEFAULTS } from '../src/engine/train/defaults';
import { score } from '../src/engine/train/evaluate';
import { headEpochsFor } from '../src/engine/train/schedule';
import { trainingSet } from '../src/engine/train/steps/prepare';
import { buildBigFolder, realClassOf } from './big-folder';
import { benchFeatures, benchSplit, log, mean, round } from './common';
import { foldwise } from './recipes';

const seeds = Array.from({ length: Number(process.env.BENCH_SEEDS ?? 3) }, (_, i) => i + 1);
const datasets = (process.env.BENCH_DATASETS ?? 'dogs_vs_cats,flowers5,big').split(',');
const caps = (process.env.BENCH_CAPS ?? 'none,2000,1500,1000,500').split(',').map((c) => (c === 'none' ? Infinity : Number(c)));

async function bigFeatures(dir: string): Promise<DatasetFeatures> {
  const folder = await buildBigFolder(dir, { photos: Number(process.env.BENCH_BIG_PHOTOS ?? 12_000) });
  log(`big: ${folder.photos} photos in ${folder.classes} classes; scanning`);
  const dataset = benchSplit(await scanDataset(folder.root));
  log('big: features');
  return computeFeatures(dataset, { backbone: 'mobilenet_v2_035' });
}

/** Share of rows whose predicted class has the same real class as the photo's (big folder); plain accuracy elsewhere. */
function realAccuracy(probabilities: Float32Array, labels: Int32Array, classes: string[]): number {
  const real = classes.map(realClassOf);
  let right = 0;
  labels.forEach((label, i) => {
    if (real[argmax(probabilities, i * classes.length, classes.length)] === real[label]) right++;
  });
  return right / labels.length;
}

async function main() {
  await switchBackend('head');
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bench-schedule-'));
  const results: Record<string, unknown>[] = [];
  try {
    for (const name of datasets) {
      const features = name === 'big' ? await bigFeatures(path.join(temp, 'big')) : await benchFeatures(name);
      const set = trainingSet(features);
      const photos = set.train.labels.length;
      for (const cap of caps) {
        const epochs = Number.isFinite(cap) ? headEpochsFor(photos, { ...TRAIN_DEFAULTS.headLength, maxUpdates: cap }) : TRAIN_DEFAULTS.epochs;
        // A cap that does not bind trains exactly as 'none' did: not run again.
        if (results.some((r) => r.dataset === name && r.epochs === epochs)) continue;
        const runs = [];
        for (const seed of seeds) {
          const trained = await foldwise(set, seed, { ...TRAIN_DEFAULTS, epochs });
          const p = await trained.predict(set.valid, set.validFlip);
          runs.push({ ...score(p, set.valid.labels, set.classes.length), real: realAccuracy(p, set.valid.labels, set.classes), seconds: trained.seconds });
          trained.dispose();
        }
        const row = {
          dataset: name,
          trainPhotos: photos,
          classes: set.classes.length,
          cap: Number.isFinite(cap) ? cap : 'none',
          epochs,
          updates: epochs * Math.ceil(photos / TRAIN_DEFAULTS.batchSize),
          validAccuracy: round(mean(runs.map((r) => r.accuracy))),
          validLoss: round(mean(runs.map((r) => r.loss))),
          realAccuracy: round(mean(runs.map((r) => r.real))),
          seconds: round(mean(runs.map((r) => r.seconds))),
          perSeed: runs.map((r) => round(r.accuracy)),
        };
        log(JSON.stringify(row));
        results.push(row);
      }
    }
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ bench: 'schedule', seeds, cores: os.availableParallelism(), loadAverage: os.loadavg().map((x) => round(x)), results }, null, 2));
}

void main();
