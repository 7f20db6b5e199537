// How much one test set can say: Foldwise's recipe against Teachable Machine's on many random
// re-splits of each dataset's labelled, non-test photos. Each split holds out 20% (stratified) for
// scoring only; of the rest, 20% is Foldwise's validation (LR finder, kept epoch) and both recipes
// train on the remaining photos. The dataset's own test photos are not used at all.
//
//   FOLDWISE_CACHE=<reused> npx tsx bench/holdout.ts   (env: BENCH_SPLITS default 5, BENCH_DATASETS)
//
// BENCH_BACKBONE=<id> trains Foldwise's recipe on that backbone's features; Teachable Machine's
// recipe always gets its own (MobileNetV2-0.35). Both see the same photos in every split.
// BENCH_BACKBONE=<id>,<id> trains Foldwise's recipe on each and keeps the one with the lower loss on
// its validation photos (never the held-out ones), as the app's automatic starting model does.
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
import { foldwise, teachableMachine, type Trained } from './recipes';
import { pairedDifference, resplit, rowsOf } from './resplit';

const splits = Number(process.env.BENCH_SPLITS ?? 5);
const datasets = (process.env.BENCH_DATASETS ?? 'dogs_vs_cats,hymenoptera,flowers5').split(',');
const backbones = (process.env.BENCH_BACKBONE ?? 'mobilenet_v2_035').split(',');

async function main() {
  const started = performance.now();
  const report: Record<string, unknown> = {};
  for (const name of datasets) {
    const features = await benchFeatures(name);
    const pool = [features.train, features.valid];
    const labels = pool.flatMap((m) => Array.from(m.labels));
    const own = [];
    for (const backbone of backbones) {
      const f = backbone === 'mobilenet_v2_035' ? features : await benchFeatures(name, undefined, backbone);
      if ([f.train, f.valid].flatMap((m) => Array.from(m.labels)).join() !== labels.join()) throw new Error(`${name}: ${backbone}'s photos differ from mobilenet_v2_035's`);
      own.push({ backbone, pool: [f.train, f.valid], dim: f.dim });
    }
    await switchBackend('head');
    const accuracy = { foldwise: [] as number[], teachableMachine: [] as number[] };
    const chosen: string[] = [];
    for (let split = 1; split <= splits; split++) {
      const [held, valid, train] = resplit(labels, 7000 + split);
      const setOf = (from: typeof pool, dim: number): TrainingSet => ({ classes: features.classes, dim, train: rowsOf(from, train), trainViews: [], valid: rowsOf(from, valid), validFlip: null });
      const holdoutAccuracy = async (trained: Trained, from: typeof pool) => {
        const holdout = rowsOf(from, held);
        return score(await trained.predict(holdout, null), holdout.labels, features.classes.length).accuracy;
      };
      // Foldwise: one model per backbone, keep the lowest validation loss.
      let best: { backbone: string; loss: number; accuracy: number } | null = null;
      for (const o of own) {
        const trained = await foldwise(setOf(o.pool, o.dim), split);
        const loss = trained.validLoss ?? Infinity;
        const a = await holdoutAccuracy(trained, o.pool);
        trained.dispose();
        log(`${name}: split ${split}: foldwise on ${o.backbone}: validation loss ${loss.toFixed(4)}, holdout accuracy ${a.toFixed(4)}`);
        if (!best || loss < best.loss) best = { backbone: o.backbone, loss, accuracy: a };
      }
      accuracy.foldwise.push(best!.accuracy);
      chosen.push(best!.backbone);
      const tm = await teachableMachine(setOf(pool, features.dim), split);
      accuracy.teachableMachine.push(await holdoutAccuracy(tm, pool));
      tm.dispose();
      log(`${name}: split ${split}: foldwise (${best!.backbone}) ${best!.accuracy.toFixed(4)}, teachableMachine ${accuracy.teachableMachine.at(-1)!.toFixed(4)}`);
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
      ...(backbones.length > 1 ? { chosenBackbone: chosen } : {}),
      perSplit: { foldwise: accuracy.foldwise.map(round), teachableMachine: accuracy.teachableMachine.map(round) },
    };
    log(`${name}: ${JSON.stringify(report[name])}`);
  }
  console.log(JSON.stringify({ bench: 'holdout', backbone: backbones.join(','), teachableMachineBackbone: 'mobilenet_v2_035', splits, cores: os.availableParallelism(), datasets: report, seconds: Math.round((performance.now() - started) / 1000) }, null, 2));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/holdout failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
