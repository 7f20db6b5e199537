import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import { CACHE_HEADER_BYTES, emptyTally } from '../cache-file';
import { ACTIVATION_FORMAT } from './activations';
import { createFeatureCache, featureKey } from './cache';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-feature-cache-'));
const allFiles = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [e.name]));

describe('feature cache', () => {
  it('keys change with content, backbone, its weights and transform', () => {
    const parts = { content: 'abc', backbone: 'mobilenet_v2_035', weights: 'w1', transform: 'center:224' };
    const key = featureKey(parts);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(featureKey({ ...parts })).toBe(key);
    expect(featureKey({ ...parts, content: 'abd' })).not.toBe(key);
    expect(featureKey({ ...parts, backbone: 'mobilenet_v1_025' })).not.toBe(key);
    expect(featureKey({ ...parts, weights: 'w2' })).not.toBe(key);
    expect(featureKey({ ...parts, transform: 'flip:224' })).not.toBe(key);
  });

  it('stores and reads vectors back exactly, in order, leaving no temp files', async () => {
    const dir = tempDir();
    const cache = createFeatureCache(dir);
    const vectors = Array.from({ length: 20 }, (_, i) => Float32Array.from({ length: 8 }, (_, j) => i + j / 10));
    const keys = vectors.map((_, i) => featureKey({ content: `img${i}`, backbone: 'b', weights: 'w', transform: 't' }));
    await Promise.all(keys.map((k, i) => cache.put(k, vectors[i]!)));
    const back = await cache.getMany([...keys, featureKey({ content: 'missing', backbone: 'b', weights: 'w', transform: 't' })], 8);
    expect(back.slice(0, 20)).toEqual(vectors);
    expect(back[20]).toBeNull();
    const files = allFiles(dir);
    expect(files).toHaveLength(20);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('treats a damaged or differently sized file as a miss, not an error', async () => {
    const dir = tempDir();
    const cache = createFeatureCache(dir);
    const key = featureKey({ content: 'img', backbone: 'b', weights: 'w', transform: 't' });
    await cache.put(key, new Float32Array([1, 2, 3, 4]));
    expect(await cache.get(key, 5)).toBeNull();
    const file = path.join(dir, key.slice(0, 2), `${key}.f32`);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 10)); // cut short, as by a crash of another tool
    expect(await cache.get(key, 4)).toBeNull();
    fs.writeFileSync(file, Buffer.alloc(8 + 16)); // right size, wrong header
    expect(await cache.get(key, 4)).toBeNull();
  });

  it('misses and counts files whose numbers were overwritten behind an intact header, and put() replaces them', async () => {
    const dir = tempDir();
    const cache = createFeatureCache(dir);
    const keys = Array.from({ length: 6 }, (_, i) => featureKey({ content: `img${i}`, backbone: 'b', weights: 'w', transform: 't' }));
    const vectors = keys.map((_, i) => Float32Array.from({ length: 16 }, (_, j) => i * 16 + j));
    await Promise.all(keys.map((k, i) => cache.put(k, vectors[i]!)));
    const fileOf = (key: string) => path.join(dir, key.slice(0, 2), `${key}.f32`);
    for (const key of keys.slice(0, 4)) {
      const bytes = fs.readFileSync(fileOf(key));
      crypto.randomFillSync(bytes, CACHE_HEADER_BYTES); // bit rot, a bad sector, a sync tool
      fs.writeFileSync(fileOf(key), bytes);
    }
    const tally = emptyTally();
    const back = await cache.getMany(keys, 16, tally);
    expect(back.map((v) => v !== null)).toEqual([false, false, false, false, true, true]);
    expect(back[4]).toEqual(vectors[4]);
    expect(tally).toEqual({ damaged: 4, outdated: 0 });
    await cache.put(keys[0]!, vectors[0]!);
    expect(await cache.get(keys[0]!, 16)).toEqual(vectors[0]);
  });

  it('counts vectors of the format before the checked header as outdated, random payload or not', async () => {
    const dir = tempDir();
    const cache = createFeatureCache(dir);
    const key = featureKey({ content: 'img', backbone: 'b', weights: 'w', transform: 't' });
    const file = path.join(dir, key.slice(0, 2), `${key}.f32`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const old = Buffer.alloc(8 + 16);
    old.writeUInt32LE(0x31465746, 0); // 'FWF1' + dim: the 8-byte header of before
    old.writeUInt32LE(4, 4);
    crypto.randomFillSync(old, 8);
    fs.writeFileSync(file, old);
    const tally = emptyTally();
    expect(await cache.get(key, 4, tally)).toBeNull();
    expect(tally).toEqual({ damaged: 0, outdated: 1 });
  });

  it('never reads an activation file as a feature vector', async () => {
    const dir = tempDir();
    const key = featureKey({ content: 'img', backbone: 'b', weights: 'w', transform: 't' });
    await createFeatureCache(dir, ACTIVATION_FORMAT).put(key, new Float32Array([1, 2, 3, 4]));
    expect(await createFeatureCache(dir, ACTIVATION_FORMAT).get(key, 4)).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(await createFeatureCache(dir).get(key, 4)).toBeNull();
  });
});
