// Accuracy: Foldwise's recipe on the app's default backbone (BENCH_BACKBONE to name another) against
// Teachable Machine's recipe on its own mobilenet_v2_035 features (as it ships), on the same split, on
// every dataset in ../shared/datasets. Prints one JSON object; medians of 3 seeds.
//
// Split (the same for both recipes): the dataset's own held-out photos are the test set
// (dogs_vs_cats: test/; hymenoptera: val/; flowers5: the 20% Foldwise's scan holds out). Foldwise's
// validation photos (for the LR finder and the kept epoch) come out of the training photos, and BOTH
// recipes train on exactly the remaining training photos. The test set is scored once per run.
//
// Teachable Machine's recipe: dense(100, relu) -> dense(softmax), Adam 1e-3, batch 16, 50 epochs, centre
// crop features only (no augmentation, no TTA). Ours: the app's defaults (src/engine/train/defaults.ts).
// Both live in bench/recipes.ts. How much one test set can say: bench/holdout.ts.
//
// Env: FOLDWISE_CACHE (feature cache; reuse one to skip extraction), BENCH_SEEDS (default 3),
// BENCH_DATASETS (comma list). How the defaults were chosen (on validation only): bench/recipe.ts.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { DatasetFeatures } from '../src/engine/features';
import { switchBackend } from '../src/engine/compute';
import { score } from '../src/engine/train/evaluate';
import { trainingSet } from '../src/engine/train/steps/prepare';
import { DEFAULT_BACKBONE } from '../src/shared/defaults';
import { benchFeatures, log, median, round } from './common';
import { foldwise, teachableMachine } from './recipes';

const seeds = Array.from({ length: Number(process.env.BENCH_SEEDS ?? 3) }, (_, i) => i + 1);
const datasets = (process.env.BENCH_DATASETS ?? 'dogs_vs_cats,hymenoptera,flowers5').split(',');
const backbone = process.env.BENCH_BACKBONE ?? DEFAULT_BACKBONE;
const TEACHABLE_MACHINE_BACKBONE = 'mobilenet_v2_035';

/** Trains `recipe` on the training photos and scores it once on the test photos (and on validation). */
async function trainAndScore(recipe: typeof foldwise, features: DatasetFeatures, seed: number) {
  const trained = await recipe(trainingSet(features), seed);
  const classes = features.classes.length;
  const test = score(await trained.predict(features.test, features.testFlip), features.test.labels, classes);
  const valid = score(await trained.predict(features.valid, features.validFlip), features.valid.labels, classes);
  trained.dispose();
  return { test, valid, seconds: trained.seconds, lr: trained.lr ?? 0, bestEpoch: trained.bestEpoch };
}

async function main() {
  const started = performance.now();
  const report: Record<string, unknown> = {};
  for (const name of datasets) {
    const features = await benchFeatures(name, undefined, TEACHABLE_MACHINE_BACKBONE);
    const own = backbone === TEACHABLE_MACHINE_BACKBONE ? features : await benchFeatures(name, undefined, backbone);
    const photos = (f: DatasetFeatures) => [f.train, f.valid, f.test].map((m) => m.images.map((i) => `${i.path}:${i.label}`).join()).join('|');
    if (photos(own) !== photos(features)) throw new Error(`${name}: ${backbone}'s split differs from ${TEACHABLE_MACHINE_BACKBONE}'s`);
    if (process.env.BENCH_FEATURES_ONLY) continue;
    await switchBackend('head');
    const runs: { seed: number; teachableMachine: Awaited<ReturnType<typeof trainAndScore>>; foldwise: Awaited<ReturnType<typeof trainAndScore>> }[] = [];
    for (const seed of seeds) {
      log(`${name}: seed ${seed}: foldwise`);
      const ours = await trainAndScore(foldwise, own, seed);
      log(`${name}: seed ${seed}: teachable machine`);
      const tm = await trainAndScore(teachableMachine, features, seed);
      log(`${name}: seed ${seed}: test accuracy foldwise ${ours.test.accuracy.toFixed(4)} vs teachable machine ${tm.test.accuracy.toFixed(4)}`);
      runs.push({ seed, teachableMachine: tm, foldwise: ours });
    }
    const med = (pick: (r: (typeof runs)[number]) => number) => round(median(runs.map(pick)));
    const entry: Record<string, unknown> = {
      images: { train: features.train.labels.length, valid: features.valid.labels.length, test: features.test.labels.length },
      classes: features.classes,
      augmentedViews: own.trainViews.length,
      teachableMachine: { testAccuracy: med((r) => r.teachableMachine.test.accuracy), testLoss: med((r) => r.teachableMachine.test.loss), seconds: med((r) => r.teachableMachine.seconds) },
      foldwise: { testAccuracy: med((r) => r.foldwise.test.accuracy), testLoss: med((r) => r.foldwise.test.loss), seconds: med((r) => r.foldwise.seconds), lr: med((r) => r.foldwise.lr) },
      runs: runs.map((r) => ({
        seed: r.seed,
        teachableMachine: { test: r.teachableMachine.test.accuracy, valid: r.teachableMachine.valid.accuracy },
        foldwise: { test: r.foldwise.test.accuracy, valid: r.foldwise.valid.accuracy, lr: r.foldwise.lr, bestEpoch: r.foldwise.bestEpoch },
      })),
    };
    entry.foldwiseBeatsTeachableMachine = (entry.foldwise as { testAccuracy: number }).testAccuracy > (entry.teachableMachine as { testAccuracy: number }).testAccuracy;
    report[name] = entry;
    log(`${name}: ${JSON.stringify(entry)}`);
  }
  console.log(
    JSON.stringify(
      {
        bench: 'accuracy',
        backbone,
        teachableMachineBackbone: TEACHABLE_MACHINE_BACKBONE,
        seeds,
        backend: tf.getBackend(),
        cores: os.availableParallelism(),
        loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
        datasets: report,
        seconds: Math.round((performance.now() - started) / 1000),
        note: 'Medians over seeds. Same features and the same training photos for both recipes; test photos never used for choices. Timings on a shared 2-core machine are pessimistic.',
      },
      null,
      2,
    ),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/accuracy failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
