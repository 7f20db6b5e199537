// The service's backstop: a file-system error from a call that has no write seam of its own (here,
// importing a backbone into the cache) still leaves as a sentence naming the folder, through the rpc.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, createPortPair, serveRpc } from '../shared/rpc';
import { sharedDir } from './paths';
import { createService } from './service';
import { mountSmallDisk, noSmallDisks, type SmallDisk } from './tmpfs.test-helpers';

const weights = path.join(sharedDir(), 'weights', 'mobilenet_v1_025_224');
const cacheBefore = process.env.FOLDWISE_CACHE;
const importInto = (cache: string) => {
  process.env.FOLDWISE_CACHE = cache;
  const [enginePort, clientPort] = createPortPair();
  serveRpc(enginePort, createService());
  return createClient(clientPort).call('backbone/import', { id: 'mobilenet_v1_025', folder: weights });
};

afterAll(() => {
  if (cacheBefore === undefined) delete process.env.FOLDWISE_CACHE;
  else process.env.FOLDWISE_CACHE = cacheBefore;
});
afterEach(() => vi.restoreAllMocks());

describe.skipIf(!fs.existsSync(weights))('file-system errors through the service', () => {
  it('a cache folder Foldwise may not write in is named (injected EACCES on the copy)', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-cache-'));
    vi.spyOn(fs.promises, 'copyFile').mockImplementation(async (from, to) => {
      throw Object.assign(new Error('EACCES: permission denied, copyfile'), { code: 'EACCES', syscall: 'copyfile', path: String(from), dest: String(to) });
    });
    await expect(importInto(cache)).rejects.toMatchObject({
      name: 'fs/not-allowed',
      message: `Foldwise is not allowed to write in its cache folder ${cache}. Change that folder’s permissions, or set FOLDWISE_CACHE to a folder you can write to.`,
    });
  });

  describe.skipIf(noSmallDisks())('on a real full disk', () => {
    let disk: SmallDisk;
    afterAll(() => disk?.unmount());
    it('a full cache is named, and the half-copied backbone is gone', async () => {
      disk = mountSmallDisk({ size: '1m' });
      await expect(importInto(path.join(disk.dir, 'cache'))).rejects.toMatchObject({
        name: 'fs/no-space',
        message: `The disk holding Foldwise’s cache folder ${disk.dir}/cache is full. Free some space (emptying the cache folder is safe) or set FOLDWISE_CACHE to a folder on another disk.`,
      });
      expect(disk.contents().filter((f) => !fs.statSync(path.join(disk.dir, f)).isDirectory())).toEqual([]);
    });
  });
});
if (noSmallDisks()) console.log(`service-fs-errors.test.ts: ${noSmallDisks()}`);
