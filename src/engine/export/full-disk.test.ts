// Exports onto disks that say no: too full (refused before writing, from the size estimate), out of
// room mid-write, read-only, not the user's. Each ends in one sentence naming the export folder, and
// nothing is left on the disk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EngineError } from '../../shared/rpc';
import { mountSmallDisk, noSmallDisks, type SmallDisk } from '../tmpfs.test-helpers';
import { exportModel } from './export';
import { makeRunFixture, type RunFixture } from './run-fixture.test-helpers';

let tmp: string;
let fixture: RunFixture;
const cacheBefore = process.env.FOLDWISE_CACHE;
const failure = (p: Promise<unknown>) => p.then(() => null, (e: EngineError) => e);
const du = (dir: string): number =>
  fs.readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? du(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size), 0);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-export-disk-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  fixture = await makeRunFixture(tmp, { backbone: 'mobilenet_v1_025', trainPerClass: 4, validPerClass: 3 });
});
afterAll(() => {
  process.env.FOLDWISE_CACHE = cacheBefore;
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

describe('export size and permissions', () => {
  it('estimates at least what an export takes, within 400 kB', async () => {
    for (const format of ['onnx', 'tfjs'] as const) {
      const out = path.join(tmp, 'sized', format);
      vi.spyOn(fs.promises, 'statfs').mockRejectedValue(Object.assign(new Error('not here'), { code: 'ENOSYS' })); // free space unknown: no check
      await exportModel(fixture.runDir, { format, out });
      vi.restoreAllMocks();
      // The estimate as the check sees it: a disk with 1 byte free refuses the export and says how much it needs.
      vi.spyOn(fs.promises, 'statfs').mockResolvedValue({ bavail: 1, bsize: 1 } as fs.StatsFs);
      const refused = await failure(exportModel(fixture.runDir, { format, out: path.join(tmp, 'sized', `${format}-2`) }));
      vi.restoreAllMocks();
      const estimate = (refused?.detail as { needBytes: number }).needBytes;
      const real = du(out);
      expect([format, estimate >= real]).toEqual([format, true]);
      expect(estimate - real).toBeLessThan(400_000);
      expect(fs.existsSync(path.join(tmp, 'sized', `${format}-2`))).toBe(false);
    }
  });

  it('names the export folder when it may not be written (injected EACCES)', async () => {
    const out = path.join(tmp, 'locked', 'export');
    const mkdir = fs.promises.mkdir;
    vi.spyOn(fs.promises, 'mkdir').mockImplementation(async (dir, opts) => {
      if (String(dir).includes('.export.partial')) throw Object.assign(new Error(`EACCES: permission denied, mkdir '${String(dir)}'`), { code: 'EACCES', syscall: 'mkdir', path: String(dir) });
      return mkdir(dir, opts);
    });
    const e = await failure(exportModel(fixture.runDir, { format: 'onnx', out }));
    expect(e?.name).toBe('fs/not-allowed');
    expect(e?.message).toBe(`Foldwise is not allowed to write in ${out}. Change that folder’s permissions or choose another folder.`);
  });
});

describe.skipIf(noSmallDisks())('export onto small real disks', () => {
  const disks: SmallDisk[] = [];
  const disk = (opts: Parameters<typeof mountSmallDisk>[0]) => {
    const d = mountSmallDisk(opts);
    disks.push(d);
    return d;
  };
  afterAll(() => disks.forEach((d) => d.unmount()));

  it('refuses a disk too full for it before writing anything, naming the folder, the size and the space', async () => {
    const full = disk({ size: '3m' });
    full.fill(150_000);
    const out = path.join(full.dir, 'export');
    const e = await failure(exportModel(fixture.runDir, { format: 'onnx', out }));
    expect(e?.name).toBe('fs/no-space');
    expect(e?.message).toMatch(new RegExp(`^The disk holding ${out} has only 1\\d\\d kB free: Foldwise needs about [\\d.]+ MB there\\. Free some space or choose another folder\\.$`));
    expect(full.contents()).toEqual([]);
  });

  it('fails cleanly when the disk runs out mid-write (out of files), saying so about the export folder', async () => {
    const few = disk({ size: '8m', inodes: 4 }); // room in bytes, but only a few files: the space check passes
    const out = path.join(few.dir, 'export');
    const e = await failure(exportModel(fixture.runDir, { format: 'onnx', out }));
    expect(e?.name).toBe('fs/no-space');
    expect(e?.message).toMatch(new RegExp(`^The disk holding ${out} is full: Foldwise needs about [\\d.]+ MB there\\. Free some space or choose another folder\\.$`));
    expect(few.contents()).toEqual([]);
  });

  it('says a read-only disk is read-only', async () => {
    const ro = disk({ size: '1m', readOnly: true });
    const out = path.join(ro.dir, 'exports', 'ants');
    const e = await failure(exportModel(fixture.runDir, { format: 'tflite', out }));
    expect(e?.name).toBe('fs/read-only');
    expect(e?.message).toMatch(new RegExp(`^${out} is on a disk that cannot be written to \\(read-only`));
  });
});
if (noSmallDisks()) console.log(`export/full-disk.test.ts: ${noSmallDisks()}`);
