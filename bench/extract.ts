// Feature extraction speed and memory, against PyTorch on the same machine (issue 3, "Speed" and "Memory").
//
//   npx tsx bench/extract.ts [--reps 3] [--inference 640] [--photos N] [--backbone mobilenet_v2_035] [--views 0] [--tta] [--skip-torch]
//
// Photos: every photo of ../shared/datasets/dogs_vs_cats (train + test, 2500). Each repetition runs, in
// turn, so both sides see the same background load:
//   foldwise  a fresh process: computeFeatures over all photos with an empty feature cache (decode
//             included; peak RSS taken here), again with the cache now warm, then inference only on
//             --inference pre-decoded photos;
//   torch     bench/extract_torch.py with Debian's python3-torch: mobilenet_v2(width_mult=0.35).features,
//             batch 32, 2 threads, photos decoded and resized with PIL.
// Prints one JSON object with medians and the ratio foldwise / torch (goal >= 1).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contentId } from '../src/engine/dataset/hash';
import { decodeForModel } from '../src/engine/dataset/decode';
import { getBackbone } from '../src/engine/backbones/catalog';
import { createExtractor } from '../src/engine/features/extractor';
import { computeFeatures, type ScannedImage } from '../src/engine/features/pipeline';
import { sharedDir } from '../src/engine/paths';
import { median } from './common';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const reps = Number(option('reps', '3'));
const inferencePhotos = Number(option('inference', '640'));
const backbone = option('backbone', 'mobilenet_v2_035');
const views = Number(option('views', '0'));
const tta = args.includes('--tta');
const threads = Number(option('threads', String(Math.min(2, os.availableParallelism()))));
/** Fewer photos for a quick try (an even spread over classes and splits); the default is all of them. */
const photoLimit = Number(option('photos', '0'));
/** Foldwise only (e.g. to size the default number of views); no ratio is printed. */
const skipTorch = args.includes('--skip-torch');

function listPhotos(): ScannedImage[] {
  const root = path.join(sharedDir(), 'datasets', 'dogs_vs_cats');
  const images: ScannedImage[] = [];
  for (const split of ['train', 'test'] as const) {
    for (const label of fs.readdirSync(path.join(root, split)).sort()) {
      for (const file of fs.readdirSync(path.join(root, split, label)).sort()) {
        const full = path.join(root, split, label, file);
        images.push({ file: `${split}/${label}/${file}`, path: full, label, split, id: contentId(fs.readFileSync(full)), width: 0, height: 0 });
      }
    }
  }
  if (photoLimit > 0 && photoLimit < images.length) {
    const step = images.length / photoLimit;
    return Array.from({ length: photoLimit }, (_, i) => images[Math.floor(i * step)]!);
  }
  return images;
}

/** One cold run in this (fresh) process: what the parent runs with --child. */
async function child(): Promise<void> {
  const images = listPhotos();
  const classes = [...new Set(images.map((i) => i.label))].map((name) => ({ name, images: { train: 0, valid: 0, test: 0 } }));
  let started = performance.now();
  const extractor = await createExtractor(backbone, { threads });
  const setupSeconds = (performance.now() - started) / 1000;

  started = performance.now();
  const out = await computeFeatures({ summary: { classes }, images }, { backbone, views, tta, extractor });
  const seconds = (performance.now() - started) / 1000;
  const items = out.stats.computed;
  const maxRssMB = process.resourceUsage().maxRSS / 1024; // measured before the inference-only part

  // The same photos again: every vector now comes from the on-disk cache.
  started = performance.now();
  const warm = await computeFeatures({ summary: { classes }, images }, { backbone, views, tta, extractor });
  const warmSeconds = (performance.now() - started) / 1000;
  if (warm.stats.computed !== 0) throw new Error(`The warm run computed ${warm.stats.computed} vectors; the cache did not work`);

  const spec = getBackbone(backbone);
  const subset = images.slice(0, inferencePhotos);
  const perImage = spec.inputSize * spec.inputSize * 3;
  const pixels = new Uint8Array(subset.length * perImage);
  (await Promise.all(subset.map((im) => decodeForModel(im.path, spec.recipe)))).forEach((p, i) => pixels.set(p, i * perImage));
  await extractor.embed(pixels.subarray(0, 32 * perImage), 32); // warm-up
  started = performance.now();
  for (let i = 0; i < subset.length; i += 32) {
    const n = Math.min(32, subset.length - i);
    await extractor.embed(pixels.subarray(i * perImage, (i + n) * perImage), n);
  }
  const inferenceSeconds = (performance.now() - started) / 1000;
  extractor.dispose();
  console.log(
    JSON.stringify({
      route: extractor.route,
      backend: extractor.backend,
      notes: extractor.notes,
      setupSeconds,
      photos: images.length,
      vectors: items,
      skipped: out.skipped.length,
      seconds,
      warmSeconds,
      warmVectors: warm.stats.cached,
      imagesPerSecond: items / seconds,
      inferenceImagesPerSecond: subset.length / inferenceSeconds,
      maxRssMB,
    }),
  );
}

async function main(): Promise<void> {
  const images = listPhotos();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bench-extract-'));
  const filesJson = path.join(tmp, 'files.json');
  fs.writeFileSync(filesJson, JSON.stringify(images.map((i) => i.path)));
  const tsx = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');
  const loadBefore = os.loadavg();

  const ours: Record<string, unknown>[] = [];
  const torch: Record<string, unknown>[] = [];
  for (let r = 0; r < reps; r++) {
    const cache = path.join(tmp, `cache-${r}`);
    const run = spawnSync(process.execPath, [tsx, __filename, '--child', ...args], {
      env: { ...process.env, FOLDWISE_CACHE: cache },
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (run.status !== 0) throw new Error(`foldwise run ${r + 1} failed:\n${run.stderr}`);
    ours.push(JSON.parse(run.stdout.trim().split('\n').at(-1)!));
    fs.rmSync(cache, { recursive: true, force: true });

    if (skipTorch) continue;
    const py = execFileSync('/usr/bin/python3', [path.join(__dirname, 'extract_torch.py'), filesJson, '--reps', '1', '--inference', String(inferencePhotos), '--threads', '2'], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    torch.push(JSON.parse(py.trim().split('\n').at(-1)!));
  }

  const oursEndToEnd = median(ours.map((o) => o.imagesPerSecond as number));
  const oursInference = median(ours.map((o) => o.inferenceImagesPerSecond as number));
  const torchEndToEnd = skipTorch ? NaN : median(torch.map((t) => (t.endToEndImagesPerSecond as { median: number }).median));
  const torchInference = skipTorch ? NaN : median(torch.map((t) => (t.inferenceImagesPerSecond as { median: number }).median));
  console.log(
    JSON.stringify(
      {
        backbone,
        photos: images.length,
        views,
        tta,
        threads,
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg() },
        foldwise: {
          route: ours[0]!.route,
          backend: ours[0]!.backend,
          notes: ours[0]!.notes,
          endToEndImagesPerSecond: { median: oursEndToEnd, runs: ours.map((o) => o.imagesPerSecond) },
          inferenceImagesPerSecond: { median: oursInference, runs: ours.map((o) => o.inferenceImagesPerSecond) },
          setupSeconds: ours.map((o) => o.setupSeconds),
          coldSeconds: ours.map((o) => o.seconds),
          warmCacheSeconds: { vectors: ours[0]!.warmVectors, runs: ours.map((o) => o.warmSeconds) },
          peakRssMB: Math.max(...ours.map((o) => o.maxRssMB as number)),
        },
        torch: skipTorch ? null : {
          version: torch[0]!.torch,
          endToEndImagesPerSecond: { median: torchEndToEnd, runs: torch.map((t) => (t.endToEndImagesPerSecond as { median: number }).median) },
          inferenceImagesPerSecond: { median: torchInference, runs: torch.map((t) => (t.inferenceImagesPerSecond as { median: number }).median) },
        },
        ratio: skipTorch ? null : { endToEnd: oursEndToEnd / torchEndToEnd, inference: oursInference / torchInference },
        note: 'Medians of interleaved runs on a machine shared with other work; see loadAverage. Foldwise end-to-end = cold feature cache, decode included.',
      },
      null,
      2,
    ),
  );
  fs.rmSync(tmp, { recursive: true, force: true });
}

(args.includes('--child') ? child() : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
