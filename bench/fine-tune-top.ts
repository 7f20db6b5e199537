// Top fine-tuning (src/engine/train/steps/fine-tune-top.ts) on the three shared datasets, from the
// same features and cached activations the app uses. Three modes (BENCH_MODE):
//   recipes  choose the recipe: the head alone against top-fine-tuning variants, scored on the
//            VALIDATION photos only (the kept model's validation loss and accuracy; medians of seeds)
//   resplit  Foldwise (head + top, kept only if validation improves) against Teachable Machine's recipe
//            on random re-splits of the training photos (bench/resplit.ts): mean, paired difference, SE
//   test     the same two on the dataset's own test photos, medians of seeds (run once, after choosing)
//
//   FOLDWISE_CACHE=<reused> npx tsx bench/fine-tune-top.ts   (env: BENCH_MODE, BENCH_DATASETS,
//   BENCH_SEEDS default 3, BENCH_SPLITS default 5, BENCH_FIRST_SPLIT default 1, BENCH_RECIPES comma
//   list of names below; resplit runs only the default recipe unless BENCH_RECIPES is given)
// Prints one JSON object on stdout; progress on stderr.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from '../src/engine/backbones/catalog';
import { loadFeatureModel } from '../src/engine/backbones/load';
import { switchBackend, withBackend } from '../src/engine/compute';
import { computeActivations, type ActivationRows, type DatasetActivations, type DatasetFeatures, type FeatureMatrix } from '../src/engine/features';
import type { TrainingSet } from '../src/engine/train/batches';
import { TRAIN_DEFAULTS } from '../src/engine/train/defaults';
import { predictProbabilities, score } from '../src/engine/train/evaluate';
import { shortHead, topFeatures, trainTop, type TopRecipe } from '../src/engine/train/steps/fine-tune-top';
import { trainHead, type HeadStep } from '../src/engine/train/steps/head';
import { trainingSet } from '../src/engine/train/steps/prepare';
import { cutOf, topOfBackbone } from '../src/engine/train/top-of-backbone';
import { benchFeatures, log, mean, median, round } from './common';
import { teachableMachine } from './recipes';
import { pairedDifference, resplit, rowsOf } from './resplit';

const mode = process.env.BENCH_MODE ?? 'recipes';
const datasets = (process.env.BENCH_DATASETS ?? 'dogs_vs_cats,hymenoptera,flowers5').split(',');
const seeds = Array.from({ length: Number(process.env.BENCH_SEEDS ?? 3) }, (_, i) => i + 1);
const splits = Number(process.env.BENCH_SPLITS ?? 5);
/** The first re-split to run (to finish an interrupted run: its splits are the same photos). */
const firstSplit = Number(process.env.BENCH_FIRST_SPLIT ?? 1);
const base = TRAIN_DEFAULTS.top;
const RECIPES: Record<string, Partial<TopRecipe>> = {
  default: {},
  'full-head': { headEpochs: 0 },
  'full-head-lr-1/100': { headEpochs: 0, headLrFactor: 0.01 },
  'head-1': { headEpochs: 1 },
  'head-5': { headEpochs: 5 },
  'epochs-2': { epochs: 2 },
  'epochs-6': { epochs: 6 },
  'head-lr-1': { headLrFactor: 1 },
  'head-lr-1/5': { headLrFactor: 0.2 },
  'top-lr-1': { topLrFactor: 1 },
  'top-lr-1/10': { topLrFactor: 0.1 },
  'no-mirror': { mirror: false },
  'top-lr-1/30': { topLrFactor: 1 / 30 },
  'epochs-8-top-lr-1/10': { epochs: 8, topLrFactor: 0.1 },
  'bn-update': { batchNormMomentum: 0.9 },
  'from-block-16': { trainFrom: 'block_16_' },
  'norms-only': { normsOnly: true },
  'norms-only-top-lr-1': { normsOnly: true, topLrFactor: 1 },
  'from-conv-1': { trainFrom: 'Conv_1' },
  'from-block-16-top-lr-1/10': { trainFrom: 'block_16_', topLrFactor: 0.1 },
  'bn-update-top-lr-1/10': { batchNormMomentum: 0.9, topLrFactor: 0.1 },
};
const recipeNames = (process.env.BENCH_RECIPES ?? Object.keys(RECIPES).join(',')).split(',');
const ctx = { job: 'bench', signal: new AbortController().signal, emit: () => undefined };
const spec = getBackbone('mobilenet_v2_035');

/** The activation rows `picked` (numbered across `parts`, in order) as one block, like resplit's rowsOf. */
function activationRowsOf(parts: ActivationRows[], picked: number[], size: number): ActivationRows {
  const all = parts.flatMap((m) => m.images.map((_, row) => ({ m, row })));
  const data = new Float32Array(picked.length * size);
  picked.forEach((i, k) => data.set(all[i]!.m.data.subarray(all[i]!.row * size, (all[i]!.row + 1) * size), k * size));
  return { data, labels: Int32Array.from(picked, (i) => all[i]!.m.labels[all[i]!.row]!), images: picked.map((i) => all[i]!.m.images[all[i]!.row]!) };
}

interface Tuned {
  /** Validation loss and accuracy of the kept model (the head alone when tuning did not beat it). */
  valid: { loss: number; accuracy: number };
  kept: boolean;
  headOnly: { loss: number; accuracy: number };
  photosPerSecond: number;
  seconds: number;
  predict(rows: ActivationRows, flip: ActivationRows | null, headRows: FeatureMatrix, headFlip: FeatureMatrix | null): Promise<Float32Array>;
  /** The tuned top and its head whether or not the keep rule kept them (to see what the rule costs or saves). */
  predictTuned(rows: ActivationRows, flip: ActivationRows | null): Promise<Float32Array>;
  dispose(): void;
}

/** Foldwise as the app trains: head (LR finder, defaults), then the top with `recipe`, kept only if validation loss drops. */
async function foldwiseTop(set: TrainingSet, acts: Pick<DatasetActivations, 'train' | 'valid' | 'validFlip'>, seed: number, recipe: Partial<TopRecipe>, head?: HeadStep): Promise<Tuned> {
  const started = performance.now();
  const full = head ?? (await trainHead(set, { lr: 'auto', epochs: TRAIN_DEFAULTS.epochs, seed, labelSmoothing: 0, tta: set.validFlip !== null, onEpoch: () => undefined }, ctx));
  const best = full.epochs.find((e) => e.epoch === full.bestEpoch)!;
  const headOnly = { loss: best.validLoss, accuracy: best.accuracy };
  const headEpochs = recipe.headEpochs ?? base.headEpochs;
  // As the step does: tuning starts from a fresh head trained headEpochs epochs (or from the full one).
  const short = headEpochs > 0 ? await shortHead(set, full.lr, headEpochs, { seed, labelSmoothing: 0, tta: set.validFlip !== null }) : null;
  const trained: HeadStep = short ? { ...full, head: short.head } : full;
  const snapshot = await trained.head.snapshot();
  const model = await loadFeatureModel(spec.id);
  const top = topOfBackbone(model, cutOf(spec));
  {
    // The untouched top must give the head's own validation loss: a check that the activations and the top's ops match the features.
    const f = await topFeatures(top, acts.valid, set.dim);
    const flip = acts.validFlip && set.validFlip ? await topFeatures(top, acts.validFlip, set.dim) : null;
    const start = score(await predictProbabilities(trained.head, f, flip), set.valid.labels, set.classes.length);
    const same = score(await predictProbabilities(trained.head, set.valid, set.validFlip), set.valid.labels, set.classes.length);
    let diff = 0;
    for (let i = 0; i < f.data.length; i++) diff = Math.max(diff, Math.abs(f.data[i]! - set.valid.data[i]!));
    log(`  before tuning: valid loss ${start.loss.toFixed(4)} through the top, ${same.loss.toFixed(4)} from the features (max feature difference ${diff.toExponential(1)})`);
  }
  const result = await trainTop(top, acts, { trained, classes: set.classes.length, dim: set.dim, seed, labelSmoothing: 0, tta: set.validFlip !== null, recipe: { ...base, ...recipe }, onEpoch: (m) => log(`  epoch ${m.epoch}: train loss ${m.trainLoss.toFixed(4)}, valid loss ${m.validLoss.toFixed(4)}, accuracy ${m.accuracy.toFixed(4)}`) }, ctx);
  const kept = result.kept.validLoss < headOnly.loss;
  const predictor = kept ? trained.head : full.head;
  const predictTuned = async (rows: ActivationRows, flip: ActivationRows | null) => {
    const f = await topFeatures(top, rows, set.dim);
    return predictProbabilities(trained.head, f, flip ? await topFeatures(top, flip, set.dim) : null);
  };
  return {
    valid: kept ? { loss: result.kept.validLoss, accuracy: result.kept.accuracy } : headOnly,
    kept,
    headOnly,
    photosPerSecond: result.photosPerSecond,
    seconds: (performance.now() - started) / 1000,
    async predict(rows, flip, headRows, headFlip) {
      return kept ? predictTuned(rows, flip) : predictProbabilities(predictor, headRows, headFlip);
    },
    predictTuned,
    dispose() {
      if (short) short.head.dispose();
      else trained.head.restore(snapshot);
      if (!head) full.head.dispose();
      model.dispose();
    },
  };
}

async function activationsOf(features: DatasetFeatures): Promise<DatasetActivations> {
  const cut = cutOf(spec);
  const model = await loadFeatureModel(spec.id);
  const shape = topOfBackbone(model, cut).shape;
  model.dispose();
  const started = performance.now();
  const acts = await withBackend('inference', () => computeActivations(features, { cut, shape }));
  log(`activations: ${acts.stats.computed} computed, ${acts.stats.cached} cached, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return acts;
}

async function recipes(features: DatasetFeatures, acts: DatasetActivations) {
  const set = trainingSet(features);
  const out: Record<string, unknown> = {};
  const rows: Record<string, Tuned[]> = {};
  for (const seed of seeds) {
    await switchBackend('head');
    const head = await trainHead(set, { lr: 'auto', epochs: TRAIN_DEFAULTS.epochs, seed, labelSmoothing: 0, tta: set.validFlip !== null, onEpoch: () => undefined }, ctx);
    for (const name of recipeNames) {
      const t = await foldwiseTop(set, acts, seed, RECIPES[name]!, head);
      (rows[name] ??= []).push(t);
      log(`seed ${seed} ${name} (head lr ${head.lr.toExponential(2)}): valid loss ${t.headOnly.loss.toFixed(4)} -> ${t.valid.loss.toFixed(4)}, accuracy ${t.headOnly.accuracy.toFixed(4)} -> ${t.valid.accuracy.toFixed(4)}, kept ${t.kept}, ${t.photosPerSecond.toFixed(0)} photos/s`);
      t.dispose();
    }
    head.head.dispose();
  }
  const first = rows[recipeNames[0]!]!;
  out.headOnly = { validLoss: round(median(first.map((t) => t.headOnly.loss))), validAccuracy: round(median(first.map((t) => t.headOnly.accuracy))) };
  for (const [name, list] of Object.entries(rows)) {
    out[name] = {
      validLoss: round(median(list.map((t) => t.valid.loss))),
      validAccuracy: round(median(list.map((t) => t.valid.accuracy))),
      kept: list.filter((t) => t.kept).length,
      photosPerSecond: round(median(list.map((t) => t.photosPerSecond))),
    };
  }
  return out;
}

async function test(features: DatasetFeatures, acts: DatasetActivations) {
  const set = trainingSet(features);
  const k = features.classes.length;
  const results = { foldwise: [] as number[], teachableMachine: [] as number[], kept: 0, seconds: [] as number[] };
  for (const seed of seeds) {
    await switchBackend('head');
    const t = await foldwiseTop(set, acts, seed, {});
    const p = await t.predict(acts.test, acts.testFlip, features.test, features.testFlip);
    results.foldwise.push(score(p, features.test.labels, k).accuracy);
    results.kept += t.kept ? 1 : 0;
    results.seconds.push(t.seconds);
    t.dispose();
    const tm = await teachableMachine(set, seed);
    results.teachableMachine.push(score(await tm.predict(features.test, null), features.test.labels, k).accuracy);
    tm.dispose();
    log(`seed ${seed}: foldwise ${results.foldwise.at(-1)!.toFixed(4)} (kept ${t.kept}), teachable machine ${results.teachableMachine.at(-1)!.toFixed(4)}`);
  }
  return { testPhotos: features.test.labels.length, foldwise: round(median(results.foldwise)), teachableMachine: round(median(results.teachableMachine)), perSeed: results, keptTop: results.kept };
}

/**
 * Re-splits: each split trains the head once and Teachable Machine once, then every recipe in
 * BENCH_RECIPES (default: only the default recipe) from that head. Per recipe: the held-out accuracy
 * with the keep rule (the app's model), the tuned model's whether kept or not, and the paired
 * difference with Teachable Machine and with the head alone.
 */
async function resplits(features: DatasetFeatures, acts: DatasetActivations) {
  const pool = [features.train, features.valid];
  const actPool = [acts.train, acts.valid];
  const labels = pool.flatMap((m) => Array.from(m.labels));
  const k = features.classes.length;
  const names = process.env.BENCH_RECIPES ? recipeNames : ['default'];
  const headOnly: number[] = [];
  const tmAccuracy: number[] = [];
  const rows: Record<string, { foldwise: number[]; tuned: number[]; kept: number }> = {};
  for (let split = firstSplit; split <= splits; split++) {
    await switchBackend('head');
    const [held, valid, train] = resplit(labels, 7000 + split);
    const set: TrainingSet = { classes: features.classes, dim: features.dim, train: rowsOf(pool, train), trainViews: [], valid: rowsOf(pool, valid), validFlip: null };
    const splitActs = { train: activationRowsOf(actPool, train, acts.size), valid: activationRowsOf(actPool, valid, acts.size), validFlip: null };
    const holdout = rowsOf(pool, held);
    const heldActs = activationRowsOf(actPool, held, acts.size);
    const tm = await teachableMachine(set, split);
    tmAccuracy.push(score(await tm.predict(holdout, null), holdout.labels, k).accuracy);
    tm.dispose();
    const head = await trainHead(set, { lr: 'auto', epochs: TRAIN_DEFAULTS.epochs, seed: split, labelSmoothing: 0, tta: false, onEpoch: () => undefined }, ctx);
    headOnly.push(score(await predictProbabilities(head.head, holdout, null), holdout.labels, k).accuracy);
    for (const name of names) {
      const t = await foldwiseTop(set, splitActs, split, RECIPES[name]!, head);
      const row = (rows[name] ??= { foldwise: [], tuned: [], kept: 0 });
      row.foldwise.push(score(await t.predict(heldActs, null, holdout, null), holdout.labels, k).accuracy);
      row.tuned.push(score(await t.predictTuned(heldActs, null), holdout.labels, k).accuracy);
      row.kept += t.kept ? 1 : 0;
      t.dispose();
      log(`split ${split} ${name}: foldwise ${row.foldwise.at(-1)!.toFixed(4)} (kept ${t.kept}), tuned ${row.tuned.at(-1)!.toFixed(4)}, head alone ${headOnly.at(-1)!.toFixed(4)}, teachable machine ${tmAccuracy.at(-1)!.toFixed(4)}`);
    }
    head.head.dispose();
  }
  const out: Record<string, unknown> = { splits: `${firstSplit}-${splits}`, teachableMachine: round(mean(tmAccuracy)), headAlone: round(mean(headOnly)), perSplit: { teachableMachine: tmAccuracy.map(round), headAlone: headOnly.map(round) } };
  for (const [name, r] of Object.entries(rows)) {
    const d = pairedDifference(r.foldwise, tmAccuracy);
    const tuned = pairedDifference(r.tuned, headOnly);
    out[name] = {
      foldwise: round(mean(r.foldwise)),
      difference: round(d.mean),
      standardError: round(d.standardError),
      aboveTwoSE: d.mean > 2 * d.standardError,
      keptTop: r.kept,
      tuned: { accuracy: round(mean(r.tuned)), overHeadAlone: round(tuned.mean), standardError: round(tuned.standardError) },
      perSplit: { foldwise: r.foldwise.map(round), tuned: r.tuned.map(round) },
    };
  }
  return out;
}

async function main() {
  const started = performance.now();
  const report: Record<string, unknown> = { mode, backbone: spec.id, cut: cutOf(spec), defaults: base, seeds: seeds.length, load: os.loadavg().map(round) };
  await switchBackend('head');
  for (const name of datasets) {
    const features = await benchFeatures(name);
    const acts = await activationsOf(features);
    report[name] = mode === 'test' ? await test(features, acts) : mode === 'resplit' ? await resplits(features, acts) : await recipes(features, acts);
    log(`${name}: ${JSON.stringify(report[name])}`);
  }
  report.seconds = round((performance.now() - started) / 1000);
  report.loadAfter = os.loadavg().map(round);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  tf.disposeVariables();
}

void main();
