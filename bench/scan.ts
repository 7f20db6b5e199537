// Scan speed on ../shared/datasets/dogs_vs_cats (or the folder given as the first argument):
// cold = fresh empty cache (content hash + decode + near-duplicate hash + thumbnails for every photo),
// warm = the same folder again with the cache in place. Prints one JSON object; medians of 3.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scanDataset } from '../src/engine/dataset';
import { sharedDir } from '../src/engine/paths';

const root = process.argv[2] ?? path.join(sharedDir(), 'datasets', 'dogs_vs_cats');
const runs = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(): Promise<{ seconds: number; cpuSeconds: number; images: number; files: number }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const { summary } = await scanDataset(root);
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, images: summary.images, files: summary.images + summary.problems.length };
}

async function main() {
  const cold: number[] = [];
  const coldCpu: number[] = [];
  const warm: number[] = [];
  let files = 0;
  let images = 0;
  const caches: string[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bench-scan-'));
      caches.push(cache);
      process.env.FOLDWISE_CACHE = cache;
      const c = await timed();
      cold.push(c.seconds);
      coldCpu.push(c.cpuSeconds);
      files = c.files;
      images = c.images;
      warm.push((await timed()).seconds);
    }
  } finally {
    for (const cache of caches) fs.rmSync(cache, { recursive: true, force: true });
  }
  const rate = (s: number) => Math.round(files / s);
  console.log(
    JSON.stringify(
      {
        bench: 'scan',
        root,
        files,
        usableImages: images,
        cores: os.availableParallelism(),
        loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
        cold: {
          imagesPerSecond: rate(median(cold)),
          medianSeconds: Math.round(median(cold) * 1000) / 1000,
          seconds: cold.map((s) => Math.round(s * 1000) / 1000),
          // CPU time of this process (all libvips threads included): what the scan costs, whatever
          // else is running. cores / cpu-per-image is the rate an otherwise idle machine would allow.
          cpuMsPerImage: Math.round((median(coldCpu) / files) * 1e5) / 100,
          imagesPerSecondIfCoresIdle: Math.round(os.availableParallelism() / (median(coldCpu) / files)),
        },
        warm: { imagesPerSecond: rate(median(warm)), medianSeconds: Math.round(median(warm) * 1000) / 1000, seconds: warm.map((s) => Math.round(s * 1000) / 1000) },
      },
      null,
      2,
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
