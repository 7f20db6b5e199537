// A scan writes thumbnails into the cache. When the cache's disk is full or read-only, that is the
// cache's problem, said once about the cache folder: never "this photo cannot be read" for every photo.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EngineError } from '../../shared/rpc';
import { mountSmallDisk, noSmallDisks, type SmallDisk } from '../tmpfs.test-helpers';
import { jpeg, tempDir, write } from './corpus.test-helpers';
import { scanDataset } from './scan';

const cacheBefore = process.env.FOLDWISE_CACHE;
let root: string;
const failure = (p: Promise<unknown>) => p.then(() => null, (e: EngineError) => e);

beforeAll(async () => {
  root = tempDir();
  for (let i = 0; i < 4; i++) write(root, `cats/${i}.jpg`, await jpeg(i, 64, 64));
  for (let i = 0; i < 4; i++) write(root, `dogs/${i}.jpg`, await jpeg(10 + i, 64, 64));
});
afterAll(() => {
  if (cacheBefore === undefined) delete process.env.FOLDWISE_CACHE;
  else process.env.FOLDWISE_CACHE = cacheBefore;
});
afterEach(() => vi.restoreAllMocks());

describe('a scan whose cache cannot take thumbnails', () => {
  it('fails with the cache sentence, not a problem per photo (injected ENOSPC)', async () => {
    process.env.FOLDWISE_CACHE = tempDir('foldwise-cache-');
    const writeFileSync = fs.writeFileSync;
    vi.spyOn(fs, 'writeFileSync').mockImplementation((file, ...rest) => {
      if (String(file).includes('thumbnails')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      return writeFileSync(file, ...rest);
    });
    const e = await failure(scanDataset(root));
    expect(e?.name).toBe('fs/no-space');
    expect(e?.message).toBe(`The disk holding Foldwise’s cache folder ${process.env.FOLDWISE_CACHE} is full. Free some space (emptying the cache folder is safe) or set FOLDWISE_CACHE to a folder on another disk.`);
  });
});

describe.skipIf(noSmallDisks())('a scan with its cache on a small real disk', () => {
  const disks: SmallDisk[] = [];
  afterAll(() => disks.forEach((d) => d.unmount()));

  it('a read-only cache is named as such', async () => {
    const ro = mountSmallDisk({ size: '1m', readOnly: true });
    disks.push(ro);
    process.env.FOLDWISE_CACHE = path.join(ro.dir, 'cache');
    const e = await failure(scanDataset(root));
    expect(e?.name).toBe('fs/read-only');
    expect(e?.message).toBe(`Foldwise’s cache folder ${ro.dir}/cache is on a disk that cannot be written to (read-only). Set FOLDWISE_CACHE to a folder on a disk you can write to.`);
  });

  it('a full cache is named as such, leaves no cut-short thumbnail, and the photos are left alone', async () => {
    const full = mountSmallDisk({ size: '1m' });
    disks.push(full);
    process.env.FOLDWISE_CACHE = path.join(full.dir, 'cache');
    fs.mkdirSync(path.join(full.dir, 'cache'));
    full.fill(0);
    const before = fs.readdirSync(root, { recursive: true });
    const e = await failure(scanDataset(root));
    expect(e?.name).toBe('fs/no-space');
    expect(e?.message).toMatch(/^The disk holding Foldwise’s cache folder .*\/cache is full\./);
    expect(full.contents().filter((f) => !fs.statSync(path.join(full.dir, f)).isDirectory())).toEqual([]);
    expect(fs.readdirSync(root, { recursive: true })).toEqual(before);
  });
});
if (noSmallDisks()) console.log(`dataset/full-cache.test.ts: ${noSmallDisks()}`);
