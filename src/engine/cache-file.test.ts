import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE_HEADER_BYTES, countRead, describeTally, emptyTally, readCacheFile, readCacheFileSync, unwrapPayload, wrapPayload, writeCacheFile, type CacheFormat } from './cache-file';

const format: CacheFormat = { kind: 'test', version: 3, legacy: (bytes) => bytes.toString('latin1', 0, 4) === 'OLD!' };
const payload = crypto.randomBytes(1000);
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-cache-file-'));

describe('cache file header', () => {
  it('gives back exactly the payload written for the same key, and leaves no temp file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'deep', 'er', 'one.bin');
    await writeCacheFile(file, format, 'key-1', payload);
    expect(fs.statSync(file).size).toBe(CACHE_HEADER_BYTES + payload.length);
    const read = await readCacheFile(file, format, 'key-1');
    expect(read.ok && read.payload.equals(payload)).toBe(true);
    expect(readCacheFileSync(file, format, 'key-1')).toEqual(read);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['one.bin']);
  });

  it('finds any single changed byte of the payload', () => {
    const bytes = wrapPayload(format, 'k', payload);
    for (let i = CACHE_HEADER_BYTES; i < bytes.length; i += 37) {
      const damaged = Buffer.from(bytes);
      damaged[i] = damaged[i]! ^ (1 << (i % 8));
      expect(unwrapPayload(damaged, format, 'k'), `byte ${i}`).toEqual({ ok: false, problem: 'damaged' });
    }
  });

  it('finds a payload replaced by random bytes behind an intact header', () => {
    const bytes = wrapPayload(format, 'k', payload);
    crypto.randomFillSync(bytes, CACHE_HEADER_BYTES);
    expect(unwrapPayload(bytes, format, 'k')).toEqual({ ok: false, problem: 'damaged' });
  });

  it('refuses a file made for another key, of another kind, cut short or grown', () => {
    const bytes = wrapPayload(format, 'k', payload);
    expect(unwrapPayload(bytes, format, 'other key').ok).toBe(false);
    expect(unwrapPayload(bytes, { ...format, kind: 'tset' }, 'k')).toEqual({ ok: false, problem: 'damaged' });
    expect(unwrapPayload(bytes.subarray(0, bytes.length - 1), format, 'k')).toEqual({ ok: false, problem: 'damaged' });
    expect(unwrapPayload(Buffer.concat([bytes, Buffer.from([0])]), format, 'k')).toEqual({ ok: false, problem: 'damaged' });
    expect(unwrapPayload(bytes.subarray(0, 20), format, 'k')).toEqual({ ok: false, problem: 'damaged' });
  });

  it('calls files of another version or from before headers outdated, not damaged', () => {
    expect(unwrapPayload(wrapPayload({ ...format, version: 2 }, 'k', payload), format, 'k')).toEqual({ ok: false, problem: 'outdated' });
    expect(unwrapPayload(Buffer.concat([Buffer.from('OLD!'), payload]), format, 'k')).toEqual({ ok: false, problem: 'outdated' });
    expect(unwrapPayload(Buffer.from(payload), format, 'k')).toEqual({ ok: false, problem: 'damaged' });
  });

  it('reads a missing file as missing and a folder in its place as damaged, never throwing', async () => {
    const dir = tempDir();
    expect(await readCacheFile(path.join(dir, 'none.bin'), format, 'k')).toEqual({ ok: false, problem: 'missing' });
    expect(readCacheFileSync(path.join(dir, 'none', 'deeper.bin'), format, 'k')).toEqual({ ok: false, problem: 'missing' });
    expect(await readCacheFile(dir, format, 'k')).toEqual({ ok: false, problem: 'damaged' });
  });

  it('counts what was remade and says it in plain words', () => {
    const tally = emptyTally();
    countRead(tally, { ok: false, problem: 'missing' });
    countRead(tally, { ok: true, payload });
    expect(describeTally(tally)).toBeNull();
    countRead(tally, { ok: false, problem: 'damaged' });
    countRead(tally, { ok: false, problem: 'damaged' });
    countRead(tally, { ok: false, problem: 'outdated' });
    expect(tally).toEqual({ damaged: 2, outdated: 1 });
    expect(describeTally(tally)).toBe(
      '2 cache files were damaged (their contents no longer matched their checksum) and 1 cache file was written by another version of Foldwise; Foldwise made them again instead of using them.',
    );
  });
});
