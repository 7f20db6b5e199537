// Time of `foldwise train` on ../shared/datasets/dogs_vs_cats (or the folder given) with the default
// settings: cold = a fresh, empty FOLDWISE_CACHE (scan, features incl. augmented views, LR finder,
// training, run folder); warm = retraining with that cache in place. Runs the real CLI as a child
// process: the built `foldwise` (dist/cli/index.js, rebuilt from the sources first with tsup), which
// starts ~0.9 s faster than running the TypeScript through tsx. Prints one JSON object; medians over
// BENCH_RUNS (default 3), with the peak resident memory of each run (GNU time, where installed).
// Targets (issue 12, fine-tuning included): cold at most 180 s, warm at most 90 s, peak RSS at most 2 GB.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot, sharedDir } from '../src/engine/paths';
import type { TrainResult } from '../src/shared/types';

const root = process.argv[2] ?? path.join(sharedDir(), 'datasets', 'dogs_vs_cats');
const runs = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 100) / 100;

// BENCH_FINE_TUNE: off|top|whole|auto passed as --fine-tune; unset: the default (auto).
const fineTune = process.env.BENCH_FINE_TUNE;
// GNU time reports the child's peak resident memory (Maximum resident set size, KiB) on stderr.
const gnuTime = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function train(cache: string, out: string): { wall: number; peakRssMb: number | null; result: TrainResult } {
  const started = performance.now();
  const cli = [path.join(packageRoot(), 'dist', 'cli', 'index.js'), 'train', root, '--out', out, '--json', ...(fineTune ? ['--fine-tune', fineTune] : [])];
  const [command, args] = gnuTime ? [gnuTime, ['-v', process.execPath, ...cli]] : [process.execPath, cli];
  const child = spawnSync(command, args, { env: { ...process.env, FOLDWISE_CACHE: cache }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`foldwise train failed: ${child.stderr.slice(-2000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(child.stderr);
  return { wall: (performance.now() - started) / 1000, peakRssMb: rss ? Number(rss[1]) / 1024 : null, result: JSON.parse(child.stdout) as TrainResult };
}

function main() {
  // The CLI measured is the one `npm run build` ships; its progress goes to stderr, stdout stays one JSON object.
  execFileSync('npx', ['tsup'], { cwd: packageRoot(), stdio: ['ignore', 'ignore', 'inherit'] });
  const cold: ReturnType<typeof train>[] = [];
  const warm: ReturnType<typeof train>[] = [];
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bench-train-'));
  try {
    for (let i = 0; i < runs; i++) {
      const cache = path.join(temp, `cache-${i}`);
      cold.push(train(cache, path.join(temp, `run-cold-${i}`)));
      warm.push(train(cache, path.join(temp, `run-warm-${i}`)));
      process.stderr.write(`run ${i + 1}: cold ${cold.at(-1)!.wall.toFixed(1)} s, warm ${warm.at(-1)!.wall.toFixed(1)} s\n`);
    }
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
  const summary = (xs: ReturnType<typeof train>[]) => ({
    wallSeconds: round(median(xs.map((x) => x.wall))),
    reported: {
      scan: round(median(xs.map((x) => x.result.seconds.scan))),
      features: round(median(xs.map((x) => x.result.seconds.features))),
      train: round(median(xs.map((x) => x.result.seconds.train))),
      fineTune: round(median(xs.map((x) => x.result.seconds.fineTune))),
      total: round(median(xs.map((x) => x.result.seconds.total))),
    },
    fineTune: xs.map((x) => x.result.fineTune),
    peakRssMb: xs.every((x) => x.peakRssMb !== null) ? round(Math.max(...xs.map((x) => x.peakRssMb!))) : null,
    validAccuracy: round(median(xs.map((x) => x.result.valid.accuracy))),
    testAccuracy: round(median(xs.map((x) => x.result.test?.accuracy ?? NaN))),
    allWall: xs.map((x) => round(x.wall)),
  });
  const c = summary(cold);
  const w = summary(warm);
  console.log(
    JSON.stringify(
      {
        bench: 'train',
        root,
        runs,
        images: cold[0]!.result.images,
        backend: cold[0]!.result.backend,
        cores: os.availableParallelism(),
        loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
        fineTuneAsked: fineTune ?? 'auto (default)',
        cold: { ...c, targetSeconds: 180, meetsTarget: c.wallSeconds <= 180 },
        warm: { ...w, targetSeconds: 90, meetsTarget: w.wallSeconds <= 90 },
        note: 'Wall time of the built CLI process (node start-up included). The machine is shared: numbers are pessimistic.',
      },
      null,
      2,
    ),
  );
}

main();
