// Would a second, larger input size help? A research bench, not a product path: Foldwise feeds each
// backbone at one size (224 for the MobileNets). This re-uses holdout.ts's random re-splits and
// compares, on each split's held-out 20%:
//   plain       Foldwise's recipe on the usual 224 px features
//   two sizes   the same recipe, with the photo's features at SIZE as an extra training view, and the
//               held-out photos scored by averaging the 224 and SIZE predictions (like TTA)
//   TM          Teachable Machine's recipe on the 224 px features
//
//   FOLDWISE_CACHE=<reused> BENCH_SIZE=288 BENCH_SPLITS=20 BENCH_DATASETS=hymenoptera npx tsx bench/scales.ts
//
// The SIZE features come from the in-process tfjs route (the worker and ONNX routes build their
// model at the catalog's size), so they take a while: about 15 photos/s at 288 on 2 cores.
import os from 'node:os';
import path from 'node:path';
import { getBackbone } from '../src/engine/backbones/catalog';
import { ensureBackend } from '../src/engine/compute';
import { scanDataset } from '../src/engine/dataset';
import { computeFeatures, type DatasetFeatures } from '../src/engine/features';
import { createExtractor } from '../src/engine/features/extractor';
import { sharedDir } from '../src/engine/paths';
import type { TrainingSet } from '../src/engine/train/batches';
import { switchBackend } from '../src/engine/compute';
import { score } from '../src/engine/train/evaluate';
import { benchSplit, log, mean, round } from './common';
import { foldwise, teachableMachine } from './recipes';
import { pairedDifference, resplit, rowsOf } from './resplit';

const size = Number(process.env.BENCH_SIZE ?? 288);
const splits = Number(process.env.BENCH_SPLITS ?? 10);
const datasets = (process.env.BENCH_DATASETS ?? 'hymenoptera').split(',');
const BACKBONE = 'mobilenet_v2_035';

/** Centre-crop features of every labelled, non-test photo (all in `train`), fed to the backbone at `inputSize`. */
async function poolFeatures(name: string, inputSize: number): Promise<DatasetFeatures> {
  const dataset = benchSplit(await scanDataset(path.join(sharedDir(), 'datasets', name)));
  // Every pool photo as 'train', so all of them land in one matrix in the same order at both sizes.
  const pool = { ...dataset, images: dataset.images.filter((i) => i.split !== 'test').map((i) => ({ ...i, split: 'train' as const })) };
  // The catalog entry is the one place the size lives; change it for this call only. The cache keys
  // include the size, so the two sizes never mix.
  const spec = getBackbone(BACKBONE) as { inputSize: number; recipe: { size: number } };
  const saved = { inputSize: spec.inputSize, recipe: spec.recipe };
  Object.assign(spec, { inputSize, recipe: { ...spec.recipe, size: inputSize } });
  try {
    await ensureBackend();
    const extractor = await createExtractor(BACKBONE, { route: inputSize === saved.inputSize ? 'auto' : 'tfjs' });
    try {
      log(`${name}: features at ${inputSize} px`);
      return await computeFeatures(pool, { backbone: BACKBONE, extractor, tta: false, views: 0 });
    } finally {
      extractor.dispose();
    }
  } finally {
    Object.assign(spec, saved);
  }
}

async function main() {
  const started = performance.now();
  const report: Record<string, unknown> = {};
  for (const name of datasets) {
    const base = getBackbone(BACKBONE).inputSize;
    const { train: small, classes: names } = await poolFeatures(name, base);
    const { train: large } = await poolFeatures(name, size);
    await switchBackend('head');
    const classes = names.length;
    const accuracy = { plain: [] as number[], twoSizes: [] as number[], teachableMachine: [] as number[] };
    for (let split = 1; split <= splits; split++) {
      const [held, valid, train] = resplit(Array.from(small.labels), 7000 + split);
      const heldSmall = rowsOf([small], held);
      const heldLarge = rowsOf([large], held);
      const set: TrainingSet = { classes: names, dim: small.dim, train: rowsOf([small], train), trainViews: [], valid: rowsOf([small], valid), validFlip: null };
      const twoSizes: TrainingSet = { ...set, trainViews: [rowsOf([large], train)], validFlip: rowsOf([large], valid) };
      // predict()'s second argument is averaged with the first: here the larger size, not a mirror.
      const runs = [
        ['plain', () => foldwise(set, split), null],
        ['twoSizes', () => foldwise(twoSizes, split), heldLarge],
        ['teachableMachine', () => teachableMachine(set, split), null],
      ] as const;
      for (const [recipe, trainIt, second] of runs) {
        const trained = await trainIt();
        accuracy[recipe].push(score(await trained.predict(heldSmall, second), heldSmall.labels, classes).accuracy);
        trained.dispose();
      }
      log(`${name}: split ${split}: ${Object.entries(accuracy).map(([k, v]) => `${k} ${v.at(-1)!.toFixed(4)}`).join(', ')}`);
    }
    const versus = (a: number[], b: number[]) => {
      const d = pairedDifference(a, b);
      return { difference: round(d.mean), standardError: round(d.standardError) };
    };
    report[name] = {
      photos: { pool: small.labels.length, heldOutPerSplit: Math.round(small.labels.length * 0.2) },
      accuracy: Object.fromEntries(Object.entries(accuracy).map(([k, v]) => [k, round(mean(v))])),
      twoSizesMinusTeachableMachine: versus(accuracy.twoSizes, accuracy.teachableMachine),
      plainMinusTeachableMachine: versus(accuracy.plain, accuracy.teachableMachine),
      twoSizesMinusPlain: versus(accuracy.twoSizes, accuracy.plain),
    };
    log(`${name}: ${JSON.stringify(report[name])}`);
  }
  console.log(JSON.stringify({ bench: 'scales', backbone: BACKBONE, sizes: [getBackbone(BACKBONE).inputSize, size], splits, cores: os.availableParallelism(), datasets: report, seconds: Math.round((performance.now() - started) / 1000) }, null, 2));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/scales failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
