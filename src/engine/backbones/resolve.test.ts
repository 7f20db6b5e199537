import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPortPair, createClient, serveRpc } from '../../shared/rpc';
import type { EngineEvents } from '../../shared/contract';
import { sharedDir } from '../paths';
import { BACKBONES, getBackbone, manifestDigest } from './catalog';
import { sha256File } from './download';
import { backboneHandlers, downloadProgressReporter } from './handlers';
import { importBackbone } from './import';
import { findLocalBackbone, resolveBackbone } from './resolve';
import { serveWeights, type Served } from './weights-server.testing';

const weights = path.join(sharedDir(), 'weights');
let tmp: string;
let served: Served | null = null;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fw-bb-resolve-'));
});
afterEach(async () => {
  await served?.close();
  served = null;
  fs.rmSync(tmp, { recursive: true, force: true });
});

function copyBackbone(id: string, to: string): void {
  const spec = getBackbone(id);
  fs.mkdirSync(to, { recursive: true });
  for (const f of spec.files) fs.copyFileSync(path.join(weights, spec.sharedFolder, f.path), path.join(to, f.path));
}

describe('catalog', () => {
  it('matches the shared weights file for file, byte for byte', async () => {
    for (const spec of BACKBONES.filter((b) => !b.parts)) {
      const model = JSON.parse(fs.readFileSync(path.join(weights, spec.sharedFolder, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
      expect(spec.files.map((f) => f.path)).toEqual(['model.json', ...model.weightsManifest.flatMap((g) => g.paths)]);
      for (const f of spec.files) expect(await sha256File(path.join(weights, spec.sharedFolder, f.path))).toBe(f.sha256);
      expect(spec.integrity).toBe(manifestDigest(spec.files));
      expect(spec.url).toMatch(/^https:\/\/storage\.googleapis\.com\/.+\/$/);
    }
    expect(getBackbone('mobilenet_v2_035')).toMatchObject({ featureSize: 1280, heatmapLayer: 'out_relu', preprocessing: { scale: 1 / 127.5, offset: -1 } });
    expect(getBackbone('mobilenet_v1_075')).toMatchObject({ featureSize: 768, featureLayer: 'conv_pw_13_relu' });
    expect(() => getBackbone('resnet50')).toThrow(/no backbone called "resnet50".*mobilenet_v2_035/);
    // The pair is its parts' files, each under its part's id, and features side by side.
    const pair = getBackbone('mobilenet_pair');
    const parts = pair.parts!.map(getBackbone);
    expect(pair.files.map((f) => f.path)).toEqual(parts.flatMap((p) => p.files.map((f) => `${p.id}/${f.path}`)));
    expect(pair).toMatchObject({ featureSize: 1280 + 768, heatmapChannels: 1280 + 768, inputSize: 224, preprocessing: parts[0]!.preprocessing });
    expect(pair.topCut).toBeUndefined();
  });

  it('changes the whole-set digest when any file changes', () => {
    const files = getBackbone('mobilenet_v1_025').files;
    const changed = files.map((f, i) => (i === 30 ? { ...f, sha256: f.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) } : f));
    expect(manifestDigest(changed)).not.toBe(manifestDigest(files));
    expect(manifestDigest(files.slice(1))).not.toBe(manifestDigest(files));
  });
});

describe('resolution order', () => {
  it('prefers bundled, then the cache, then the shared weights', () => {
    const bundled = path.join(tmp, 'bundled');
    const cache = path.join(tmp, 'cache');
    const where = { bundledDir: bundled, cacheDir: cache, sharedWeightsDir: weights };
    expect(findLocalBackbone('mobilenet_v2_035', where)).toMatchObject({ source: 'shared', dir: path.join(weights, 'mobilenet_v2_035_224_notop') });
    copyBackbone('mobilenet_v2_035', path.join(cache, 'mobilenet_v2_035'));
    expect(findLocalBackbone('mobilenet_v2_035', where)).toMatchObject({ source: 'cache' });
    copyBackbone('mobilenet_v2_035', path.join(bundled, 'mobilenet_v2_035'));
    expect(findLocalBackbone('mobilenet_v2_035', where)).toMatchObject({ source: 'bundled', dir: path.join(bundled, 'mobilenet_v2_035') });
    // A bundled copy missing a file (or truncated) is skipped, not loaded.
    fs.truncateSync(path.join(bundled, 'mobilenet_v2_035', 'weights.bin'), 1000);
    expect(findLocalBackbone('mobilenet_v2_035', where)).toMatchObject({ source: 'cache' });
    expect(findLocalBackbone('mobilenet_v2_035', { bundledDir: null, cacheDir: path.join(tmp, 'empty'), sharedWeightsDir: null })).toBeNull();
  });

  it('finds a pair only where both its parts are, each from its own best place', () => {
    const cache = path.join(tmp, 'pair-cache');
    const onlyCache = { bundledDir: null, cacheDir: cache, sharedWeightsDir: null };
    copyBackbone('mobilenet_v2_035', path.join(cache, 'mobilenet_v2_035'));
    expect(findLocalBackbone('mobilenet_pair', onlyCache)).toBeNull();
    const withShared = { ...onlyCache, sharedWeightsDir: weights };
    const pair = findLocalBackbone('mobilenet_pair', withShared)!;
    expect(pair.parts!.map((p) => [p.spec.id, p.source])).toEqual([
      ['mobilenet_v2_035', 'cache'],
      ['mobilenet_v1_075', 'shared'],
    ]);
  });

  it('reads FOLDWISE_BUNDLED_BACKBONES for the bundled folder', () => {
    const bundled = path.join(tmp, 'resources', 'backbones');
    copyBackbone('mobilenet_v1_025', path.join(bundled, 'mobilenet_v1_025'));
    const before = process.env.FOLDWISE_BUNDLED_BACKBONES;
    process.env.FOLDWISE_BUNDLED_BACKBONES = bundled;
    try {
      expect(findLocalBackbone('mobilenet_v1_025', { cacheDir: path.join(tmp, 'cache') })).toMatchObject({ source: 'bundled' });
    } finally {
      if (before === undefined) delete process.env.FOLDWISE_BUNDLED_BACKBONES;
      else process.env.FOLDWISE_BUNDLED_BACKBONES = before;
    }
  });
});

describe('importBackbone', () => {
  it('copies a verified folder into the cache, and refuses a folder with a wrong file', async () => {
    const cache = path.join(tmp, 'cache');
    const imported = await importBackbone('mobilenet_v2_035', path.join(weights, 'mobilenet_v2_035_224_notop'), { cacheDir: cache });
    expect(imported).toMatchObject({ source: 'cache', dir: path.join(cache, 'mobilenet_v2_035') });
    expect(findLocalBackbone('mobilenet_v2_035', { bundledDir: null, cacheDir: cache, sharedWeightsDir: null })?.source).toBe('cache');

    const wrong = path.join(tmp, 'usb');
    copyBackbone('mobilenet_v1_025', wrong);
    fs.rmSync(path.join(wrong, 'group7-shard1of1'));
    const error = await importBackbone('mobilenet_v1_025', wrong, { cacheDir: cache }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'backbone/import-mismatch', message: expect.stringMatching(/group7-shard1of1 is missing/) });
    expect(fs.readdirSync(cache)).toEqual(['mobilenet_v2_035']);
  });
});

describe('backbone handlers over rpc', () => {
  it('lists every backbone with where it was found, and ensure downloads with progress events', async () => {
    served = await serveWeights();
    const cache = path.join(tmp, 'cache');
    const spec = getBackbone('mobilenet_v1_025');
    const [a, b] = createPortPair();
    // Only the v1 0.25 folder is served; no shared fallback, so it must come over the network.
    const handlers = backboneHandlers({ bundledDir: null, cacheDir: cache, sharedWeightsDir: null, url: `${served.url}${spec.sharedFolder}/` });
    serveRpc(a, handlers);
    const client = createClient(b);
    const events: EngineEvents['job/progress'][] = [];
    client.on('job/progress', (e) => events.push(e));

    const before = await client.call('backbone/list', {});
    expect(before.map((x) => x.id)).toEqual(['mobilenet_pair', 'mobilenet_v2_035', 'mobilenet_v1_075', 'mobilenet_v1_025']);
    expect(before.map((x) => x.tunableTop)).toEqual([false, true, true, true]);
    expect(before.every((x) => x.description === getBackbone(x.id).description && x.description.length > 0)).toBe(true);
    expect(before.every((x) => !x.available && x.source === 'missing')).toBe(true);

    const call = client.call('backbone/ensure', { id: 'mobilenet_v1_025' });
    await expect(call).resolves.toMatchObject({ id: 'mobilenet_v1_025', available: true, source: 'cache', featureSize: 256 });
    const total = spec.files.reduce((n, f) => n + f.bytes, 0);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.job === call.job && e.stage === 'download' && e.total === total)).toBe(true);
    expect(events.at(-1)).toMatchObject({ done: total, message: expect.stringMatching(/Downloading MobileNet V1 \(0\.25\): 2\.0 of 2\.0 MB/) });

    const after = await client.call('backbone/list', {});
    expect(after.find((x) => x.id === 'mobilenet_v1_025')).toMatchObject({ available: true, source: 'cache' });
    await expect(client.call('backbone/ensure', { id: 'vgg16' })).rejects.toMatchObject({ name: 'backbone/unknown' });

    // The offline way in: import a folder.
    await expect(client.call('backbone/import', { id: 'mobilenet_v2_035', folder: path.join(weights, 'mobilenet_v1_025_224') })).rejects.toMatchObject({
      name: 'backbone/import-mismatch',
    });
    await expect(client.call('backbone/import', { id: 'mobilenet_v2_035', folder: path.join(weights, 'mobilenet_v2_035_224_notop') })).resolves.toMatchObject({
      id: 'mobilenet_v2_035',
      available: true,
      source: 'cache',
    });
  });

  it('cancels a download within a second and keeps the partial file for a later resume', async () => {
    served = await serveWeights({ stall: 'weights.bin' });
    const cache = path.join(tmp, 'cache');
    const spec = getBackbone('mobilenet_v2_035');
    const [a, b] = createPortPair();
    const handlers = backboneHandlers({ bundledDir: null, cacheDir: cache, sharedWeightsDir: null, url: `${served.url}${spec.sharedFolder}/` });
    // Watch the engine side too: the download itself must stop, not just the caller's promise.
    let engineSide: Promise<unknown> = Promise.resolve();
    serveRpc(a, {
      ...handlers,
      'backbone/ensure': (args, ctx) => {
        const run = handlers['backbone/ensure'](args, ctx);
        engineSide = run.catch((e: unknown) => e);
        return run;
      },
    });
    const client = createClient(b);
    const call = client.call('backbone/ensure', { id: spec.id });
    const part = path.join(cache, `.${spec.id}.partial`, 'weights.bin.part');
    while (!fs.existsSync(part) || fs.statSync(part).size === 0) await new Promise((r) => setTimeout(r, 20));
    const cancelledAt = Date.now();
    call.cancel();
    await expect(call).rejects.toMatchObject({ name: 'job/cancelled' });
    expect(await engineSide).toMatchObject({ name: 'AbortError' });
    expect(Date.now() - cancelledAt).toBeLessThan(1000);
    expect(fs.statSync(part).size).toBe(1000);
    expect(fs.existsSync(path.join(cache, spec.id))).toBe(false);
  });

  it('reports every download step in bytes, with the megabytes in words', () => {
    const sent: EngineEvents['job/progress'][] = [];
    const report = downloadProgressReporter({ job: 'j1', emit: (_e, p) => sent.push(p as EngineEvents['job/progress']) }, 'X');
    report({ done: 0, total: 10e6, file: 'w' });
    report({ done: 2.5e6, total: 10e6, file: 'w' });
    expect(sent).toEqual([
      { job: 'j1', stage: 'download', done: 0, total: 10e6, message: 'Downloading X: 0.0 of 10.0 MB' },
      { job: 'j1', stage: 'download', done: 2.5e6, total: 10e6, message: 'Downloading X: 2.5 of 10.0 MB' },
    ]);
  });
});

describe('resolveBackbone', () => {
  it('finds the shared weights with FOLDWISE_SHARED defaults and no network', async () => {
    await expect(resolveBackbone('mobilenet_v2_035', { bundledDir: null, cacheDir: path.join(tmp, 'c'), download: false })).resolves.toMatchObject({ source: 'shared' });
  });
});
