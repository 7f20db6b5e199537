// One header for every file Foldwise keeps in its cache (scan index, thumbnails, features,
// activations, ONNX conversions of a backbone), so a cache can never hand back bytes it did not
// write for this key: a header that survived over damaged numbers (bit rot, a bad sector, a sync
// tool) fails the checksum, and the file is made again instead of being trained on.
//
// Layout, little-endian, 56 bytes, then the payload:
//   0  'FWCH'                 a Foldwise cache file
//   4  kind, 4 ASCII chars    which cache ('feat', 'actv', 'scan', 'thmb', 'onnx')
//   8  uint32 version         that cache's format version
//  12  uint32 crc32           of the payload (zlib's, Node >= 20.15)
//  16  uint64 length          of the payload
//  24  sha256 of the key      the key the file was made for (a file copied or renamed into another slot fails)
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { makeFolder, noteWritePath } from './fs-errors';

const MAGIC = Buffer.from('FWCH', 'latin1');
export const CACHE_HEADER_BYTES = 56;

export interface CacheFormat {
  /** Four ASCII characters naming the cache. */
  kind: string;
  /** Bumped when what the payload means changes: files of another version are remade. */
  version: number;
  /** True for a file in the format this cache had before headers (counted as outdated, not damaged). */
  legacy?(bytes: Buffer): boolean;
}

/**
 * What a read found: the payload, or why there is none. 'outdated': written by another Foldwise
 * version (or before headers); 'damaged': ours, but its checksum, length or key is wrong, or it could
 * not be read. Either way the caller makes the file again.
 */
export type CacheRead = { ok: true; payload: Buffer } | { ok: false; problem: 'missing' | 'outdated' | 'damaged' };

/** How many cache files a job found unusable and made again. */
export interface CacheTally {
  damaged: number;
  outdated: number;
}

export const emptyTally = (): CacheTally => ({ damaged: 0, outdated: 0 });

/** Counts a failed read into `tally` (a missing file is not counted: nothing was there to remake). */
export function countRead(tally: CacheTally | undefined, read: CacheRead): void {
  if (!tally || read.ok || read.problem === 'missing') return;
  tally[read.problem]++;
}

export function addTallies(...tallies: (CacheTally | undefined)[]): CacheTally {
  const sum = emptyTally();
  for (const t of tallies) {
    sum.damaged += t?.damaged ?? 0;
    sum.outdated += t?.outdated ?? 0;
  }
  return sum;
}

/** The tally in plain words, or null when every cache file was sound. */
export function describeTally(t: CacheTally): string | null {
  const parts: string[] = [];
  const files = (n: number) => `${n} cache file${n === 1 ? '' : 's'}`;
  if (t.damaged > 0) parts.push(`${files(t.damaged)} ${t.damaged === 1 ? 'was' : 'were'} damaged (${t.damaged === 1 ? 'its' : 'their'} contents no longer matched ${t.damaged === 1 ? 'its' : 'their'} checksum)`);
  if (t.outdated > 0) parts.push(`${files(t.outdated)} ${t.outdated === 1 ? 'was' : 'were'} written by another version of Foldwise`);
  if (parts.length === 0) return null;
  return `${parts.join(' and ')}; Foldwise made ${t.damaged + t.outdated === 1 ? 'it' : 'them'} again instead of using ${t.damaged + t.outdated === 1 ? 'it' : 'them'}.`;
}

function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

function checkKind(format: CacheFormat): void {
  if (!/^[\x20-\x7e]{4}$/.test(format.kind)) throw new Error(`A cache kind is four ASCII characters, not "${format.kind}"`);
}

/** The header for `payload`, made for `key`. */
export function cacheHeader(format: CacheFormat, key: string, payload: Uint8Array): Buffer {
  checkKind(format);
  const header = Buffer.alloc(CACHE_HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.write(format.kind, 4, 'latin1');
  header.writeUInt32LE(format.version, 8);
  header.writeUInt32LE(zlib.crc32(payload), 12);
  header.writeBigUInt64LE(BigInt(payload.byteLength), 16);
  keyDigest(key).copy(header, 24);
  return header;
}

/** Header and payload as one buffer (what is written to disk). */
export function wrapPayload(format: CacheFormat, key: string, payload: Uint8Array): Buffer {
  return Buffer.concat([cacheHeader(format, key, payload), payload]);
}

/** The payload of a cache file's bytes, if they are a sound file of this format made for `key`. */
export function unwrapPayload(bytes: Buffer, format: CacheFormat, key: string): CacheRead {
  if (bytes.length < CACHE_HEADER_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) {
    return { ok: false, problem: format.legacy?.(bytes) ? 'outdated' : 'damaged' };
  }
  if (bytes.toString('latin1', 4, 8) !== format.kind) return { ok: false, problem: 'damaged' };
  if (bytes.readUInt32LE(8) !== format.version) return { ok: false, problem: 'outdated' };
  const payload = bytes.subarray(CACHE_HEADER_BYTES);
  if (bytes.readBigUInt64LE(16) !== BigInt(payload.length)) return { ok: false, problem: 'damaged' };
  if (!bytes.subarray(24, CACHE_HEADER_BYTES).equals(keyDigest(key))) return { ok: false, problem: 'damaged' };
  if (zlib.crc32(payload) !== bytes.readUInt32LE(12)) return { ok: false, problem: 'damaged' };
  return { ok: true, payload };
}

function readFailure(error: unknown): CacheRead {
  const code = (error as NodeJS.ErrnoException).code;
  // Not there is a plain miss; anything else (EIO from a bad sector, a folder in its place) is damage.
  return { ok: false, problem: code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'damaged' };
}

export async function readCacheFile(file: string, format: CacheFormat, key: string): Promise<CacheRead> {
  try {
    return unwrapPayload(await fs.promises.readFile(file), format, key);
  } catch (error) {
    return readFailure(error);
  }
}

/** For many small files read in a loop: synchronous reads of page-cached files are several times faster. */
export function readCacheFileSync(file: string, format: CacheFormat, key: string): CacheRead {
  try {
    return unwrapPayload(fs.readFileSync(file), format, key);
  } catch (error) {
    return readFailure(error);
  }
}

let tmpCounter = 0;
const tmpName = (file: string) => `${file}.${process.pid}.${(tmpCounter++).toString(36)}.tmp`;

/** Writes header + payload to a temp name in the same folder, then renames it over `file` (made folders included). */
export async function writeCacheFile(file: string, format: CacheFormat, key: string, payload: Uint8Array): Promise<void> {
  await makeFolder(path.dirname(file));
  const tmp = tmpName(file);
  try {
    await fs.promises.writeFile(tmp, wrapPayload(format, key, payload));
    await fs.promises.rename(tmp, file);
  } catch (error) {
    await fs.promises.rm(tmp, { force: true });
    throw noteWritePath(error, file); // a failed write() names no file: fs-errors.ts could not say which folder is full
  }
}

/** writeCacheFile without the thread pool, for a few kB; the folder must exist (ENOENT otherwise). */
export function writeCacheFileSync(file: string, format: CacheFormat, key: string, payload: Uint8Array): void {
  const tmp = tmpName(file);
  try {
    fs.writeFileSync(tmp, wrapPayload(format, key, payload));
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw noteWritePath(error, file);
  }
}
