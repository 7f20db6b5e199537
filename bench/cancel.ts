// Does cancel land within a second in every phase of a big `foldwise train`? Runs the training job
// in this process (trainFolder, as the engine's 'train/run' does) on the ~12,000-photo folder of
// bench/big-folder.ts (or the folder given), and cancels it once in each phase that reports progress:
// scan, features, lr-find and train (the head), a third of the way through each. One cache for all, so
// each attempt gets through the phases before its own quickly (the scan and features it completed).
//
//   npx tsx bench/cancel.ts [folder]   (env: BENCH_BIG_PHOTOS default 12000)
//
// Prints one JSON object: for each phase, the seconds from the moment the cancel is asked (queued on the
// event loop, like a cancel message) to the job's rejection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Progress } from '../src/shared/types';
import { trainFolder } from '../src/engine/train/run';
import { buildBigFolder } from './big-folder';

const log = (message: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
const PHASES: Progress['stage'][] = ['scan', 'features', 'lr-find', 'train'];

async function cancelDuring(root: string, out: string, phase: Progress['stage']): Promise<{ phase: string; secondsToStop: number; at: string }> {
  const controller = new AbortController();
  let abortedAt = 0;
  let at = '';
  const emit = (event: string, payload: unknown) => {
    if (event !== 'job/progress' || abortedAt) return;
    const p = payload as Progress;
    if (p.stage === phase && p.total > 0 && p.done >= p.total / 3) {
      at = `${p.done}/${p.total}`;
      // The clock starts now, but the abort runs from the event loop, as a cancel message from the page
      // or the CLI does: it waits until the job lets the loop in.
      abortedAt = performance.now();
      setTimeout(() => controller.abort(), 0);
    }
  };
  const ctx = { job: `cancel-${phase}`, signal: controller.signal, emit: emit as never };
  try {
    await trainFolder({ root, out, backbone: 'mobilenet_v2_035', lr: 'auto', seed: 42, fineTune: 'auto' }, ctx);
    throw new Error(`The job finished before it was cancelled in ${phase}`);
  } catch (error) {
    if (!abortedAt) throw error;
    if (fs.existsSync(out)) throw new Error(`A cancelled run left ${out} behind`);
    return { phase, secondsToStop: Math.round((performance.now() - abortedAt) / 10) / 100, at };
  }
}

async function main() {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-bench-cancel-'));
  process.env.FOLDWISE_CACHE = path.join(temp, 'cache');
  try {
    const root = process.argv[2] ?? (await buildBigFolder(path.join(temp, 'photos'), { photos: Number(process.env.BENCH_BIG_PHOTOS ?? 12_000) })).root;
    const results = [];
    for (const phase of PHASES) {
      results.push(await cancelDuring(root, path.join(temp, `run-${phase}`), phase));
      log(JSON.stringify(results.at(-1)));
    }
    console.log(JSON.stringify({ bench: 'cancel', root, cores: os.availableParallelism(), loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100), results, allWithinOneSecond: results.every((r) => r.secondsToStop <= 1) }, null, 2));
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

void main();
