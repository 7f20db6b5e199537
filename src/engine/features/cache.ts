// The on-disk feature cache: one small file per (image content, backbone, transform).
// One file per vector keeps writes atomic and lets retraining, or adding ten photos, reuse every
// vector already computed without rewriting a packed store. Files are sharded by the first two hex
// digits of the key so no folder grows past a few thousand entries.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { countRead, readCacheFile, readCacheFileSync, writeCacheFile, type CacheFormat, type CacheRead, type CacheTally } from '../cache-file';
import { cacheDir } from '../paths';

/** Feature files: a plain array of float32 after the cache header (cache-file.ts). */
export const FEATURE_FORMAT: CacheFormat = { kind: 'feat', version: 1, legacy: startsWithOldMagic };

/** Before the shared header: 'FWF1' (little-endian) + uint32 dim, then the floats, nothing checking them. */
function startsWithOldMagic(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.readUInt32LE(0) === 0x31465746;
}

export interface FeatureKeyParts {
  /** The photo's content id (a digest of its pixels' file). */
  content: string;
  backbone: string;
  /** weightsDigest of the backbone copy that computes the vector: another copy of the same id is another key. */
  weights: string;
  /** The transform's description (crop recipe, view, flip). */
  transform: string;
}

/**
 * sha256 of the parts, hex. The weights digest joined the key later: vectors cached before then are
 * never found again (a one-time recompute), and never mistaken for another copy's.
 */
export function featureKey({ content, backbone, weights, transform }: FeatureKeyParts): string {
  return createHash('sha256').update(`${content}\n${backbone}\n${weights}\n${transform}`).digest('hex');
}

export interface FeatureCache {
  readonly dir: string;
  /**
   * The cached vector, or null when missing, of another size, damaged or outdated (a miss, never an
   * error; the caller computes it again and put() replaces the file). `tally` counts the damaged and
   * outdated ones.
   */
  get(key: string, dim: number, tally?: CacheTally): Promise<Float32Array | null>;
  /** Many lookups at once, in order; misses are null. */
  getMany(keys: string[], dim: number, tally?: CacheTally): Promise<(Float32Array | null)[]>;
  /** Stores atomically: a temp file in the same folder, then a rename. */
  put(key: string, vector: Float32Array): Promise<void>;
}

export function createFeatureCache(dir: string = path.join(cacheDir(), 'features'), format: CacheFormat = FEATURE_FORMAT): FeatureCache {
  const fileOf = (key: string) => path.join(dir, key.slice(0, 2), `${key}.f32`);
  const vectorOf = (read: CacheRead, dim: number, tally?: CacheTally): Float32Array | null => {
    // A sound file of another length is a vector of another backbone layout, not damage: a plain miss.
    if (read.ok && read.payload.length !== dim * 4) return null;
    countRead(tally, read);
    return read.ok ? toFloats(read.payload) : null;
  };

  return {
    dir,
    async get(key, dim, tally) {
      return vectorOf(await readCacheFile(fileOf(key), format, key), dim, tally);
    },
    async getMany(keys, dim, tally) {
      // Synchronous reads of these small, usually page-cached files are 5-8x faster than fs.promises
      // (2500 vectors: ~50 ms instead of ~350 ms); chunks with a yield in between keep progress and
      // cancel responsive.
      const out: (Float32Array | null)[] = new Array(keys.length).fill(null);
      for (let start = 0; start < keys.length; start += 256) {
        if (start > 0) await new Promise((resolve) => setImmediate(resolve));
        for (let i = start; i < Math.min(keys.length, start + 256); i++) {
          out[i] = vectorOf(readCacheFileSync(fileOf(keys[i]!), format, keys[i]!), dim, tally);
        }
      }
      return out;
    },
    async put(key, vector) {
      await writeCacheFile(fileOf(key), format, key, new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
    },
  };
}

/** A copy: the payload's offset in the file buffer need not be 4-byte aligned. */
function toFloats(payload: Buffer): Float32Array {
  const out = new Float32Array(payload.length / 4);
  Buffer.from(out.buffer).set(payload);
  return out;
}
