// A photo dropped on "Try it" in browser mode is copied into the cache first: when the cache's disk
// is full, the upload answers with the same sentence as the engine (the Try-it panel shows `error`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mountSmallDisk, noSmallDisks, type SmallDisk } from '../tmpfs.test-helpers';
import { inProcessEngine } from './engine-process';
import { startServer, type ServeHandle } from './server';

const cacheBefore = process.env.FOLDWISE_CACHE;

async function serveWithCache(cache: string): Promise<ServeHandle> {
  process.env.FOLDWISE_CACHE = cache;
  const web = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-web-'));
  fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html>');
  return startServer({ port: 0, staticDir: web, cacheRoot: cache, uploadDir: path.join(cache, 'try-it'), imageFile: () => null, engine: inProcessEngine({}) });
}

async function upload(server: ServeHandle): Promise<{ status: number; body: { error?: string; path?: string } }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/upload?name=photo.jpg&token=${server.token}`, { method: 'POST', body: 'jpeg bytes' });
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

afterAll(() => {
  if (cacheBefore === undefined) delete process.env.FOLDWISE_CACHE;
  else process.env.FOLDWISE_CACHE = cacheBefore;
});

describe('Try-it uploads onto a cache that cannot take them', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answer in plain words (injected ENOSPC)', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-cache-'));
    const server = await serveWithCache(cache);
    vi.spyOn(fs.promises, 'writeFile').mockRejectedValueOnce(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }));
    const { status, body } = await upload(server);
    await server.close();
    expect(status).toBe(500);
    expect(body.error).toBe(`The disk holding Foldwise’s cache folder ${cache} is full. Free some space (emptying the cache folder is safe) or set FOLDWISE_CACHE to a folder on another disk.`);
    expect(fs.readdirSync(path.join(cache, 'try-it'))).toEqual([]);
  });
});

describe.skipIf(noSmallDisks())('Try-it uploads onto a real full disk', () => {
  let disk: SmallDisk;
  beforeAll(() => {
    disk = mountSmallDisk({ size: '1m' });
    fs.mkdirSync(path.join(disk.dir, 'cache', 'try-it'), { recursive: true });
    disk.fill(0);
  });
  afterAll(() => disk.unmount());

  it('answer with the cache sentence and leave no temp file', async () => {
    const server = await serveWithCache(path.join(disk.dir, 'cache'));
    const { status, body } = await upload(server);
    await server.close();
    expect(status).toBe(500);
    expect(body.error).toMatch(/^The disk holding Foldwise’s cache folder .*\/cache is full\. Free some space/);
    expect(disk.contents()).toEqual(['cache', 'cache/try-it']);
  });
});
if (noSmallDisks()) console.log(`serve/upload-full-disk.test.ts: ${noSmallDisks()}`);
