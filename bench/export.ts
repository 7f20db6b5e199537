// Export speed: the default backbone, exported in each format with verification on 150 validation
// photos included (the target: within 10 s). Prints one JSON object; medians of 3 exports.
//
// The run is a real one in the run-folder layout (hymenoptera photos, the app's extractor, a softmax
// head fitted on those features); building it is setup and not timed. Exports are timed end to end:
// joining backbone and head, writing, reloading with the stock runtime, decoding the 150 photos with
// the app's decode path, running them through the export and through the app's own predictor,
// model card and usage files, and the move into place.
//
// The machine is often shared: the load average is printed before and after, and CPU seconds of the
// export process (all threads) are printed beside the wall-clock seconds.
//
// Env: FOLDWISE_CACHE (reuse one to skip the ONNX conversion of the backbone), BENCH_REPEATS (default 3),
// BENCH_TTA=0 to benchmark runs without test-time augmentation only (default: both), BENCH_FORMATS
// (comma-separated; default onnx,tfjs,tflite,tflite-fp16,tflite-int8,coreml), BENCH_BACKBONE (default: the app's default
// backbone; mobilenet_v2_035 compares with the rows measured before the pair became the default).
// modelBytes: the size of the model file(s).
// Core ML is not run (nothing on Linux runs it): its time covers writing and Apple's structure validator.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_BACKBONE } from '../src/shared/defaults';
import { exportModel, type ExportReport } from '../src/engine/export/export';
import { makeRunFixture } from '../src/engine/export/run-fixture.test-helpers';
import type { ExportFormat } from '../src/shared/types';
import { median } from './common';

const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const ttaModes = process.env.BENCH_TTA === '0' ? [false] : [false, true];
const formats = (process.env.BENCH_FORMATS ?? 'onnx,tfjs,tflite,tflite-fp16,tflite-int8,coreml').split(',') as ExportFormat[];
const backbone = process.env.BENCH_BACKBONE ?? DEFAULT_BACKBONE;
const MODEL_FILES = new Set(['model.onnx', 'model.json', 'weights.bin', 'model.tflite', 'model.mlmodel']);

async function main(): Promise<void> {
  const loadAverageBefore = os.loadavg().map((l) => Number(l.toFixed(2)));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bench-export-'));
  process.env.FOLDWISE_CACHE ??= path.join(tmp, 'cache');
  const results: unknown[] = [];
  try {
    for (const tta of ttaModes) {
      const setupStart = performance.now();
      // hymenoptera val/ has 70 ants and 83 bees: 70 + 80 = 150 validation photos. 32 training photos a
      // class: the 64 an 8-bit export calibrates on, as in a real run.
      const run = await makeRunFixture(path.join(tmp, tta ? 'tta' : 'plain'), { backbone, trainPerClass: 32, validPerClass: 80, tta });
      const setupSeconds = (performance.now() - setupStart) / 1000;
      for (const format of formats) {
        const seconds: number[] = [];
        let last: ExportReport | null = null;
        const stages: ExportReport['stages'][] = [];
        const cpu: number[] = [];
        let modelBytes = 0;
        for (let i = 0; i < repeats; i++) {
          const out = path.join(tmp, 'exports', `${format}-${tta}-${i}`);
          const started = performance.now();
          const cpuBefore = process.cpuUsage();
          last = await exportModel(run.runDir, { format, out, maxImages: 150 });
          seconds.push((performance.now() - started) / 1000);
          const used = process.cpuUsage(cpuBefore);
          cpu.push((used.user + used.system) / 1e6);
          stages.push(last.stages);
          modelBytes = last.files.filter((f) => MODEL_FILES.has(f)).reduce((sum, f) => sum + fs.statSync(path.join(out, f)).size, 0);
        }
        results.push({
          format,
          testTimeAugmentation: tta,
          images: last!.verified.images,
          seconds: seconds.map((s) => Number(s.toFixed(2))),
          medianSeconds: Number(median(seconds).toFixed(2)),
          withinTarget: median(seconds) <= 10,
          // CPU seconds of this process, all its threads (workers, sharp) included: less sensitive to
          // other programs than the wall clock. On an idle machine the wall time is at least cpu / cores.
          medianCpuSeconds: Number(median(cpu).toFixed(2)),
          modelBytes,
          verified: last!.verified,
          runtime: last!.runtime,
          // Where the time goes: the median of each stage over the repeats.
          medianStageSeconds: Object.fromEntries(Object.keys(stages[0]!).map((k) => [k, median(stages.map((s) => s[k as keyof typeof s]))])),
          setupSeconds: Number(setupSeconds.toFixed(1)),
        });
      }
    }
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'export',
          backbone,
          targetSeconds: 10,
          repeats,
          machine: { cpus: os.cpus().length, loadAverageBefore, loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))) },
          results,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/export: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
