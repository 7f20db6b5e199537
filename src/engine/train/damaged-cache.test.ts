// Issue 15: a feature cache whose numbers were overwritten behind intact headers (bit rot, a bad
// sector, a sync tool), or written before the checked header, must give the same model as a clean
// cache, and the run must say how many files it made again. Real photos (a few of ../shared's
// hymenoptera) so that features trained on random numbers would give another head.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../shared/rpc';
import { TrainConfig } from '../../shared/schemas';
import type { TrainResult } from '../../shared/types';
import { CACHE_HEADER_BYTES } from '../cache-file';
import { sharedDir } from '../paths';
import { trainFolder } from './run';

const source = path.join(sharedDir(), 'datasets', 'hymenoptera');
const haveData = fs.existsSync(path.join(source, 'train', 'ants')) && fs.existsSync(path.join(sharedDir(), 'weights', 'mobilenet_v1_025_224', 'model.json'));
const quiet: CallContext = { job: 'damaged-cache', signal: new AbortController().signal, emit: () => undefined };

let tmp: string;
let root: string;
let cache: string;
const savedCache = process.env.FOLDWISE_CACHE;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-damaged-cache-'));
  cache = path.join(tmp, 'cache');
  process.env.FOLDWISE_CACHE = cache;
  root = path.join(tmp, 'photos');
  if (!haveData) return;
  for (const [split, count] of [['train', 10], ['val', 6]] as const) {
    for (const label of ['ants', 'bees']) {
      const from = path.join(source, split, label);
      const files = fs.readdirSync(from).filter((f) => f.endsWith('.jpg')).sort().slice(0, count);
      fs.mkdirSync(path.join(root, split, label), { recursive: true });
      for (const f of files) fs.copyFileSync(path.join(from, f), path.join(root, split, label, f));
    }
  }
});

afterAll(() => {
  if (savedCache === undefined) delete process.env.FOLDWISE_CACHE;
  else process.env.FOLDWISE_CACHE = savedCache;
  fs.rmSync(tmp, { recursive: true, force: true });
});

const featureFiles = (): string[] => {
  const dir = path.join(cache, 'features');
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.f32')).map((f) => path.join(dir, f));
};
const train = (name: string) => trainFolder(TrainConfig.parse({ root, out: path.join(tmp, 'runs', name), backbone: 'mobilenet_v1_025', epochs: 4, lr: 0.003, fineTune: 'off', seed: 7 }), quiet);
const headWeights = (r: TrainResult) => new Float32Array(new Uint8Array(fs.readFileSync(path.join(r.runDir, 'head', 'weights.bin'))).buffer);
/** Largest difference between two runs' head weights (Infinity when their sizes differ). */
function headDiff(x: TrainResult, y: TrainResult): number {
  const a = headWeights(x);
  const b = headWeights(y);
  if (a.length !== b.length || a.length === 0) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe.skipIf(!haveData)('a damaged feature cache', () => {
  it('gives the same model as a clean cache and says how many files were made again', { timeout: 240_000 }, async () => {
    const clean = await train('clean');
    expect(clean.cacheRemade).toEqual({ damaged: 0, outdated: 0 });
    expect(clean.warnings.join(' ')).not.toMatch(/cache file/);
    const files = featureFiles();
    expect(files.length).toBe(20 + 2 * 12); // centre crops of every photo, mirrors of the 12 validation photos

    // Random numbers behind every header, which is kept as it is.
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      crypto.randomFillSync(bytes, CACHE_HEADER_BYTES);
      fs.writeFileSync(file, bytes);
    }
    const repaired = await train('repaired');
    expect(repaired.cacheRemade).toEqual({ damaged: files.length, outdated: 0 });
    expect(repaired.warnings).toContain(`${files.length} cache files were damaged (their contents no longer matched their checksum); Foldwise made them again instead of using them.`);
    expect(repaired.valid).toEqual(clean.valid);
    expect(headDiff(clean, repaired)).toBeLessThan(1e-5);
    // ...and the files were replaced: the next run finds every one sound.
    const again = await train('again');
    expect(again.cacheRemade).toEqual({ damaged: 0, outdated: 0 });
    expect(again.seconds.features).toBeLessThan(repaired.seconds.features);

    // Files in the format from before the header ('FWF1' + length, then floats nobody checked), with
    // random floats: outdated, made again, the same model.
    for (const file of featureFiles()) {
      const old = Buffer.alloc(8 + fs.statSync(file).size - CACHE_HEADER_BYTES);
      old.writeUInt32LE(0x31465746, 0);
      old.writeUInt32LE((old.length - 8) / 4, 4);
      crypto.randomFillSync(old, 8);
      fs.writeFileSync(file, old);
    }
    const upgraded = await train('upgraded');
    expect(upgraded.cacheRemade).toEqual({ damaged: 0, outdated: files.length });
    expect(upgraded.valid).toEqual(clean.valid);
    expect(headDiff(clean, upgraded)).toBeLessThan(1e-5);
  });
});
