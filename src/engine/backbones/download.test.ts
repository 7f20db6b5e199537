// The downloader against a real HTTP server on 127.0.0.1 that serves ../shared/weights, with the
// failures real networks have: a cut connection, a damaged file, a stall, nobody listening.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getBackbone } from './catalog';
import { stagingDir } from './download';
import { resolveBackbone, type ResolveOptions } from './resolve';
import { serveWeights, type Served } from './weights-server.testing';

let cache: string;
let served: Served | null = null;
beforeEach(() => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-bb-dl-'));
});
afterEach(async () => {
  await served?.close();
  served = null;
  fs.rmSync(cache, { recursive: true, force: true });
});

const v2 = getBackbone('mobilenet_v2_035');
// Only the network: no bundled copy and no shared folder to fall back on.
const onlyNetwork = (url: string, extra: Partial<ResolveOptions> = {}): ResolveOptions => ({
  bundledDir: null,
  sharedWeightsDir: null,
  cacheDir: cache,
  url: `${url}${v2.sharedFolder}/`,
  ...extra,
});
const finalDir = () => path.join(cache, v2.id);

describe('backbone download', () => {
  it('downloads every file of a many-shard model, verifies it, and later finds it in the cache', async () => {
    served = await serveWeights();
    const v1 = getBackbone('mobilenet_v1_025');
    const progress: number[] = [];
    const options: ResolveOptions = { bundledDir: null, sharedWeightsDir: null, cacheDir: cache, url: `${served.url}${v1.sharedFolder}/`, onProgress: (p) => progress.push(p.done) };
    const resolved = await resolveBackbone(v1.id, options);
    expect(resolved).toMatchObject({ source: 'cache', dir: path.join(cache, v1.id) });
    expect(fs.readdirSync(resolved.dir).sort()).toEqual(v1.files.map((f) => f.path).sort());
    expect(served.requests).toHaveLength(v1.files.length);
    const total = v1.files.reduce((a, f) => a + f.bytes, 0);
    expect(progress.at(-1)).toBe(total);
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1]!)).toBe(true);
    expect(fs.existsSync(stagingDir(resolved.dir))).toBe(false);

    await served.close();
    served = null;
    // No server now: the cached copy is enough.
    await expect(resolveBackbone(v1.id, { ...options, url: 'http://127.0.0.1:9/' })).resolves.toMatchObject({ source: 'cache' });
  });

  it('resumes an interrupted transfer with a Range request instead of starting over', async () => {
    served = await serveWeights({ cut: { file: 'weights.bin', after: 600_000 } });
    const first = resolveBackbone(v2.id, onlyNetwork(served.url));
    await expect(first).rejects.toMatchObject({ name: 'backbone/offline' });
    expect(fs.existsSync(finalDir())).toBe(false); // nothing half-done is ever used
    const part = path.join(stagingDir(finalDir()), 'weights.bin.part');
    const kept = fs.statSync(part).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(v2.files[1]!.bytes);

    const resolved = await resolveBackbone(v2.id, onlyNetwork(served.url));
    expect(resolved.source).toBe('cache');
    const retry = served.requests.at(-1)!;
    expect(retry).toMatchObject({ path: `${v2.sharedFolder}/weights.bin`, range: `bytes=${kept}-` });
    expect(retry.bytes).toBe(v2.files[1]!.bytes - kept);
    // model.json was finished and verified the first time: not fetched again.
    expect(served.requests.filter((r) => r.path.endsWith('model.json'))).toHaveLength(1);
    expect(fs.statSync(path.join(resolved.dir, 'weights.bin')).size).toBe(v2.files[1]!.bytes);
  });

  it('starts the file over when the server ignores the Range request', async () => {
    served = await serveWeights({ cut: { file: 'weights.bin', after: 300_000 }, ignoreRange: true });
    await expect(resolveBackbone(v2.id, onlyNetwork(served.url))).rejects.toMatchObject({ name: 'backbone/offline' });
    await expect(resolveBackbone(v2.id, onlyNetwork(served.url))).resolves.toMatchObject({ source: 'cache' });
    expect(served.requests.at(-1)!.bytes).toBe(v2.files[1]!.bytes);
  });

  it('rejects a damaged file and leaves nothing behind', async () => {
    served = await serveWeights({ corrupt: 'weights.bin' });
    const error = await resolveBackbone(v2.id, onlyNetwork(served.url)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'backbone/corrupt' });
    expect((error as Error).message).toMatch(/weights\.bin/);
    expect(fs.readdirSync(cache)).toEqual([]);
  });

  it('stops reading a file that is longer than catalogued (a server that never stops)', async () => {
    served = await serveWeights({ endless: 'weights.bin' });
    const error = await resolveBackbone(v2.id, onlyNetwork(served.url)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'backbone/corrupt' });
    expect(fs.readdirSync(cache)).toEqual([]);
  });

  it('gives up on a stalled download instead of hanging', async () => {
    served = await serveWeights({ stall: 'weights.bin' });
    const started = Date.now();
    const error = await resolveBackbone(v2.id, onlyNetwork(served.url, { stallTimeoutMs: 400 })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'backbone/offline' });
    expect((error as Error).message).toMatch(/stalled/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(fs.existsSync(finalDir())).toBe(false);
  });

  it('says how to fix it when offline, and never downloads when told not to', async () => {
    served = await serveWeights();
    const url = served.url;
    await served.close();
    served = null;
    const error = await resolveBackbone(v2.id, onlyNetwork(url)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'backbone/offline' });
    expect((error as Error).message).toMatch(/MobileNet V2 \(0\.35\) is not on this computer/);
    expect((error as Error).message).toMatch(/Connect to the internet once.*or import a folder that contains its model\.json/);
    await expect(resolveBackbone(v2.id, onlyNetwork(url, { download: false }))).rejects.toMatchObject({ name: 'backbone/offline' });
  });

  it('downloads once when several workers ask at the same time', async () => {
    served = await serveWeights();
    const all = await Promise.all([1, 2, 3].map(() => resolveBackbone(v2.id, onlyNetwork(served!.url))));
    expect(all.every((r) => r.source === 'cache' && r.dir === finalDir())).toBe(true);
    expect(served.requests.map((r) => r.path).sort()).toEqual([`${v2.sharedFolder}/model.json`, `${v2.sharedFolder}/weights.bin`]);
    expect(fs.readdirSync(cache)).toEqual([v2.id]); // no lock or staging left
  });

  it('takes over a lock left by a crashed download', async () => {
    served = await serveWeights();
    const lock = `${stagingDir(finalDir())}.lock`;
    fs.writeFileSync(lock, '');
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(lock, old, old);
    await expect(resolveBackbone(v2.id, onlyNetwork(served.url))).resolves.toMatchObject({ source: 'cache' });
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('reports a missing file on the server as a failed download', async () => {
    served = await serveWeights();
    await expect(resolveBackbone(v2.id, onlyNetwork(served.url, { url: `${served.url}no-such-model/` }))).rejects.toMatchObject({
      name: 'backbone/download-failed',
      message: expect.stringMatching(/HTTP 404/),
    });
  });
});
