// How much one test set can say: Foldwise's recipe against Teachable Machine's on many random
// re-splits of each dataset's labelled, non-test photos. Each split holds out 20% (stratified) for
// scoring only; of the rest, 20% is Foldwise's validation (LR finder, kept epoch) and both recipes
// train on the remaining photos. The dataset's own test photos are not used at all.
//
//   FOLDWISE_CACHE=<reused> npx tsx bench/holdout.ts   (env: BENCH_SPLITS default 5, BENCH_DATASETS)
//
// BENCH_BACKBONE=<id> trains Foldwise's recipe on that backbone's features; Teachable Machine's
// recipe always gets its own (MobileNetV2-0.35). Both see the same photos in every split.
//
// Prints one JSON object: per dataset, both recipes' mean holdout accuracy, the paired difference
// (Foldwise minus Teachable Machine) with its standard error, and how many splits each won.
// The held-out photos are scored without TTA for both (mirrored features exist only for the
// validation and test photos), which handicaps Foldwise slightly.
import os from 'node:os';
import type { TrainingSet } from '../src/engine/train/batches';
import { switchBackend } from '../src/engine/compute';
import { score } from '../src/engine/train/evaluate';
import { benchFeatures, log, mean, round } from './common';
import { foldwise, teachableMachine } from './recipes';
import { pairedDifference, resplit, rowsOf } from './resplit';

const splits = Number(process.env.BENCH_SPLITS ?? 5);
const datasets = (process.env.BENCH_DATASETS ?? 'dogs_vs_cats,hymenoptera,flowers5').split(',');
const backbone = process.env.BENCH_BACKBONE ?? 'mobilenet_v2_035';

async function main() {
  const started = performance.now();
  const report: Record<string, unknown> = {};
  for (const name of datasets) {
    const features = await benchFeatures(name);
    const own = backbone === 'mobilenet_v2_035' ? features : await benchFeatures(name, undefined, backbone);
    await switchBackend('head');
    const pool = [features.train, features.valid];
    const ownPool = [own.train, own.valid];
    const labels = pool.flatMap((m) => Array.from(m.labels));
    if (ownPool.flatMap((m) => Array.from(m.labels)).join() !== labels.join()) throw new Error(`${name}: ${backbone}'s photos differ from mobilenet_v2_035's`);
    const accuracy = { foldwise: [] as number[], teachableMachine: [] as number[] };
    for (let split = 1; split <= splits; split++) {
      const [held, valid, train] = resplit(labels, 7000 + split);
      const setOf = (from: typeof pool, dim: number): TrainingSet => ({ classes: features.classes, dim, train: rowsOf(from, train), trainViews: [], valid: rowsOf(from, valid), validFlip: null });
      const sets = { foldwise: setOf(ownPool, own.dim), teachableMachine: setOf(pool, features.dim) };
      const holdouts = { foldwise: rowsOf(ownPool, held), teachableMachine: rowsOf(pool, held) };
      for (const [recipe, train] of [['foldwise', foldwise], ['teachableMachine', teachableMachine]] as const) {
        const holdout = holdouts[recipe];
        const trained = await train(sets[recipe], split);
        const { accuracy: a } = score(await trained.predict(holdout, null), holdout.labels, features.classes.length);
        trained.dispose();
        accuracy[recipe].push(a);
        log(`${name}: split ${split}: ${recipe} holdout accuracy ${a.toFixed(4)}`);
      }
    }
    const difference = pairedDifference(accuracy.foldwise, accuracy.teachableMachine);
    const diffs = difference.differences;
    report[name] = {
      images: { pool: labels.length, holdoutPerSplit: Math.round(labels.length * 0.2) },
      foldwise: round(mean(accuracy.foldwise)),
      teachableMachine: round(mean(accuracy.teachableMachine)),
      difference: round(difference.mean),
      standardError: round(difference.standardError),
      splitsWon: { foldwise: diffs.filter((d) => d > 0).length, tied: diffs.filter((d) => d === 0).length, teachableMachine: diffs.filter((d) => d < 0).length },
      perSplit: { foldwise: accuracy.foldwise.map(round), teachableMachine: accuracy.teachableMachine.map(round) },
    };
    log(`${name}: ${JSON.stringify(report[name])}`);
  }
  console.log(JSON.stringify({ bench: 'holdout', backbone, teachableMachineBackbone: 'mobilenet_v2_035', splits, cores: os.availableParallelism(), datasets: report, seconds: Math.round((performance.now() - started) / 1000) }, null, 2));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/holdout failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
