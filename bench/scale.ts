// Does a default `foldwise train` stay fast and flat as folders grow? Builds the ~12,000-photo,
// ~150-class folder of bench/big-folder.ts from ../shared/datasets (in a temp folder), and two smaller
// ones with the same classes (the first twelfth and third of each class: ~1k and ~4k photos), then runs
// the built CLI on each with a fresh, empty FOLDWISE_CACHE (cold: scan, features, LR finder, head,
// fine-tuning when 'auto' takes it, run folder), timing the process and its peak RSS (GNU time).
// 'auto' takes top fine-tuning where its estimate fits the budget (small folders) and not on big ones,
// so a second line is fitted through the wall time less fine-tuning: the same work at every size.
//
//   npx tsx bench/scale.ts   (env: BENCH_RUNS default 3, BENCH_SIZES default 1000,4000,12000)
//
// Prints one JSON object: medians per size, seconds per photo, a straight line fitted through
// (photos, seconds) with how far each size is from it, and the 12k targets (issue 15: at most 200 s,
// peak RSS at most 1.5 GB on 2 cores). The machine is shared: each run records the load average.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/engine/paths';
import type { TrainResult } from '../src/shared/types';
import { buildBigFolder, subsetFolder } from './big-folder';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const sizes = (process.env.BENCH_SIZES ?? '1000,4000,12000').split(',').map(Number);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 100) / 100;
const load = () => os.loadavg().map(round);
const log = (message: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

interface Run {
  wall: number;
  peakRssMb: number;
  loadBefore: number[];
  loadAfter: number[];
  result: TrainResult;
}

function train(root: string, cache: string, out: string): Run {
  const loadBefore = load();
  const started = performance.now();
  const cli = [path.join(packageRoot(), 'dist', 'cli', 'index.js'), 'train', root, '--out', out, '--json'];
  const child = spawnSync('/usr/bin/time', ['-v', process.execPath, ...cli], { env: { ...process.env, FOLDWISE_CACHE: cache }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`foldwise train failed: ${child.stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(child.stderr);
  return { wall: (performance.now() - started) / 1000, peakRssMb: Number(rss![1]) / 1024, loadBefore, loadAfter: load(), result: JSON.parse(child.stdout) as TrainResult };
}

/** Least squares seconds = a + b * photos, and each point's distance from the line as a share of its value. */
function line(points: { photos: number; seconds: number }[]) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.photos, 0) / n;
  const my = points.reduce((s, p) => s + p.seconds, 0) / n;
  const b = points.reduce((s, p) => s + (p.photos - mx) * (p.seconds - my), 0) / points.reduce((s, p) => s + (p.photos - mx) ** 2, 0);
  const a = my - b * mx;
  const total = points.reduce((s, p) => s + (p.seconds - my) ** 2, 0);
  const residual = points.reduce((s, p) => s + (p.seconds - a - b * p.photos) ** 2, 0);
  return {
    secondsAtZero: round(a),
    secondsPerThousandPhotos: round(b * 1000),
    r2: Math.round((1 - residual / total) * 10000) / 10000,
    offLine: points.map((p) => ({ photos: p.photos, share: round((p.seconds - a - b * p.photos) / p.seconds) })),
  };
}

async function main() {
  if (!fs.existsSync('/usr/bin/time')) throw new Error('bench/scale.ts reads peak memory from GNU time: apt-get install time');
  execFileSync('npx', ['tsup'], { cwd: packageRoot(), stdio: ['ignore', 'ignore', 'inherit'] });
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bench-scale-'));
  try {
    const largest = Math.max(...sizes);
    const big = await buildBigFolder(path.join(temp, 'photos-big'), { photos: largest });
    log(`built ${big.photos} photos in ${big.classes} classes (${big.copies} mirrored copies)`);
    const folders = sizes.map((size) => (size === largest ? big : subsetFolder(big.root, path.join(temp, `photos-${size}`), size / big.photos)));
    const rows = [];
    for (const folder of folders) {
      const done: Run[] = [];
      for (let i = 0; i < runs; i++) {
        const cache = path.join(temp, `cache-${folder.photos}-${i}`);
        done.push(train(folder.root, cache, path.join(temp, `run-${folder.photos}-${i}`)));
        fs.rmSync(cache, { recursive: true, force: true });
        const r = done.at(-1)!;
        log(`${folder.photos} photos, run ${i + 1}: ${r.wall.toFixed(1)} s, ${r.peakRssMb.toFixed(0)} MB, load ${r.loadBefore.join('/')} -> ${r.loadAfter.join('/')}`);
      }
      const m = (f: (r: Run) => number) => round(median(done.map(f)));
      const first = done[0]!.result;
      rows.push({
        photos: folder.photos,
        classes: folder.classes,
        split: first.images,
        wallSeconds: m((r) => r.wall),
        reported: {
          scan: m((r) => r.result.seconds.scan),
          features: m((r) => r.result.seconds.features),
          train: m((r) => r.result.seconds.train),
          fineTune: m((r) => r.result.seconds.fineTune),
          total: m((r) => r.result.seconds.total),
        },
        secondsPerThousandPhotos: round((median(done.map((r) => r.wall)) / folder.photos) * 1000),
        // 'auto' fine-tunes the top of small folders and not of big ones: the same work at every size is the rest.
        wallWithoutFineTune: m((r) => r.wall - r.result.seconds.fineTune),
        peakRssMb: round(Math.max(...done.map((r) => r.peakRssMb))),
        headEpochs: first.epochs.filter((e) => (e.stage ?? 'head') === 'head').length,
        fineTune: done.map((r) => r.result.fineTune?.layers ?? 'off'),
        validAccuracy: m((r) => r.result.valid.accuracy),
        allWall: done.map((r) => round(r.wall)),
        load: done.map((r) => ({ before: r.loadBefore, after: r.loadAfter })),
      });
    }
    const top = rows.find((r) => r.photos === big.photos)!;
    const fit = rows.length >= 2 ? line(rows.map((r) => ({ photos: r.photos, seconds: r.wallSeconds }))) : null;
    const fitSameWork = rows.length >= 2 ? line(rows.map((r) => ({ photos: r.photos, seconds: r.wallWithoutFineTune }))) : null;
    console.log(
      JSON.stringify(
        {
          bench: 'scale',
          runs,
          cores: os.availableParallelism(),
          sizes: rows,
          linear: fit,
          linearWithoutFineTune: fitSameWork,
          target: { photos: top.photos, wallSeconds: top.wallSeconds, maxSeconds: 200, peakRssMb: top.peakRssMb, maxRssMb: 1536, met: top.wallSeconds <= 200 && top.peakRssMb <= 1536 },
          note: 'Cold runs of the built CLI (node start-up included), default settings. The machine is shared: see each run\'s load average.',
        },
        null,
        2,
      ),
    );
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

void main();
