// Accuracy: Foldwise's recipe against Teachable Machine's, on the same mobilenet_v2_035 features and
// the same split, on every dataset in ../shared/datasets. Prints one JSON object; medians of 3 seeds.
//
// Split (the same for both recipes): the dataset's own held-out photos are the test set
// (dogs_vs_cats: test/; hymenoptera: val/; flowers5: the 20% Foldwise's scan holds out). Foldwise's
// validation photos (for the LR finder and the kept epoch) come out of the training photos, and BOTH
// recipes train on exactly the remaining training photos. The test set is scored once per run.
//
// Teachable Machine's recipe: dense(100, relu) -> dense(softmax), Adam 1e-3, batch 16, 50 epochs, centre
// crop features only (no augmentation, no TTA). Ours: the app's defaults (src/engine/train/defaults.ts).
//
// Env: FOLDWISE_CACHE (feature cache; reuse one to skip extraction), BENCH_SEEDS (default 3),
// BENCH_DATASETS (comma list). How the defaults were chosen (on validation only): bench/recipe.ts.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { DatasetFeatures } from '../src/engine/features';
import { useGradientBackend } from '../src/engine/train/backend';
import { TRAIN_DEFAULTS } from '../src/engine/train/defaults';
import { predictProbabilities, score } from '../src/engine/train/evaluate';
import { fitHead } from '../src/engine/train/fit';
import { findLearningRate } from '../src/engine/train/lr-finder';
import { trainingSet } from '../src/engine/train/run';
import { benchFeatures, log, median, round } from './common';

const seeds = Array.from({ length: Number(process.env.BENCH_SEEDS ?? 3) }, (_, i) => i + 1);
const datasets = (process.env.BENCH_DATASETS ?? 'dogs_vs_cats,hymenoptera,flowers5').split(',');

/** Teachable Machine's head on centre-crop features, fitted the way its trainer does (tf.layers fit). */
async function teachableMachine(features: DatasetFeatures, seed: number) {
  const classes = features.classes.length;
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 100, activation: 'relu', inputShape: [features.dim], kernelInitializer: tf.initializers.varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'uniform', seed }) }),
      tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tf.initializers.varianceScaling({ scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: seed + 1 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const n = features.train.labels.length;
  const x = tf.tensor2d(features.train.data, [n, features.dim]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(features.train.labels, 'int32'), classes).toFloat());
  const started = performance.now();
  await model.fit(x, y, { batchSize: 16, epochs: 50, shuffle: true, verbose: 0 });
  const seconds = (performance.now() - started) / 1000;
  const evaluate = (rows: DatasetFeatures['test']) => {
    const probs = tf.tidy(() => model.predict(tf.tensor2d(rows.data, [rows.labels.length, features.dim])) as tf.Tensor);
    const result = score(probs.dataSync() as Float32Array, rows.labels, classes);
    probs.dispose();
    return result;
  };
  const result = { test: evaluate(features.test), valid: evaluate(features.valid), seconds };
  tf.dispose([x, y]);
  model.dispose();
  return result;
}

/** Foldwise's defaults: LR finder (valley), one-cycle AdamW head with augmented views, best epoch by validation loss, TTA. */
async function foldwise(features: DatasetFeatures, seed: number) {
  const head = TRAIN_DEFAULTS.head;
  const set = trainingSet(features);
  const started = performance.now();
  const lr = await findLearningRate(set, { head, seed, batchSize: TRAIN_DEFAULTS.batchSize, weightDecay: TRAIN_DEFAULTS.weightDecay, choose: TRAIN_DEFAULTS.lrSuggestion });
  const fit = await fitHead(set, { head, epochs: TRAIN_DEFAULTS.epochs, maxLr: lr.suggestion, seed, batchSize: TRAIN_DEFAULTS.batchSize, weightDecay: TRAIN_DEFAULTS.weightDecay });
  const seconds = (performance.now() - started) / 1000;
  const test = score(predictProbabilities(fit.head, features.test, features.testFlip), features.test.labels, features.classes.length);
  const valid = score(predictProbabilities(fit.head, features.valid, features.validFlip), features.valid.labels, features.classes.length);
  fit.head.dispose();
  return { test, valid, seconds, lr: lr.suggestion, bestEpoch: fit.bestEpoch };
}

async function main() {
  const started = performance.now();
  const report: Record<string, unknown> = {};
  for (const name of datasets) {
    const features = await benchFeatures(name);
    if (process.env.BENCH_FEATURES_ONLY) continue;
    await useGradientBackend('head');
    const runs: { seed: number; teachableMachine: Awaited<ReturnType<typeof teachableMachine>>; foldwise: Awaited<ReturnType<typeof foldwise>> }[] = [];
    for (const seed of seeds) {
      log(`${name}: seed ${seed}: foldwise`);
      const ours = await foldwise(features, seed);
      log(`${name}: seed ${seed}: teachable machine`);
      const tm = await teachableMachine(features, seed);
      log(`${name}: seed ${seed}: test accuracy foldwise ${ours.test.accuracy.toFixed(4)} vs teachable machine ${tm.test.accuracy.toFixed(4)}`);
      runs.push({ seed, teachableMachine: tm, foldwise: ours });
    }
    const med = (pick: (r: (typeof runs)[number]) => number) => round(median(runs.map(pick)));
    const entry: Record<string, unknown> = {
      images: { train: features.train.labels.length, valid: features.valid.labels.length, test: features.test.labels.length },
      classes: features.classes,
      augmentedViews: features.trainViews.length,
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
        backbone: 'mobilenet_v2_035',
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
