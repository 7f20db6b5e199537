// The on-disk feature cache: one small file per (image content, backbone, transform).
// One file per vector keeps writes atomic and lets retraining, or adding ten photos, reuse every
// vector already computed without rewriting a packed store. Files are sharded by the first two hex
// digits of the key so no folder grows past a few thousand entries.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../paths';

const MAGIC = 0x31465746; // 'FWF1' little-endian: a file that does not start with it is not ours
const HEADER_BYTES = 8; // magic + uint32 dim

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
  /** The cached vector, or null when missing, of another size, or unreadable (a miss, never an error). */
  get(key: string, dim: number): Promise<Float32Array | null>;
  /** Many lookups at once, in order; misses are null. */
  getMany(keys: string[], dim: number): Promise<(Float32Array | null)[]>;
  /** Stores atomically: a temp file in the same folder, then a rename. */
  put(key: string, vector: Float32Array): Promise<void>;
}

export function createFeatureCache(dir: string = path.join(cacheDir(), 'features')): FeatureCache {
  const fileOf = (key: string) => path.join(dir, key.slice(0, 2), `${key}.f32`);
  let tmpCounter = 0;

  async function get(key: string, dim: number): Promise<Float32Array | null> {
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(fileOf(key));
    } catch {
      return null;
    }
    return decode(bytes, dim);
  }

  return {
    dir,
    get,
    async getMany(keys, dim) {
      // Synchronous reads of these small, usually page-cached files are 5-8x faster than fs.promises
      // (2500 vectors: ~50 ms instead of ~350 ms); chunks with a yield in between keep progress and
      // cancel responsive.
      const out: (Float32Array | null)[] = new Array(keys.length).fill(null);
      for (let start = 0; start < keys.length; start += 256) {
        if (start > 0) await new Promise((resolve) => setImmediate(resolve));
        for (let i = start; i < Math.min(keys.length, start + 256); i++) {
          let bytes: Buffer;
          try {
            bytes = fs.readFileSync(fileOf(keys[i]!));
          } catch {
            continue;
          }
          out[i] = decode(bytes, dim);
        }
      }
      return out;
    },
    async put(key, vector) {
      const file = fileOf(key);
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.${tmpCounter++}.tmp`;
      try {
        await fs.promises.writeFile(tmp, encode(vector));
        await fs.promises.rename(tmp, file);
      } catch (error) {
        await fs.promises.rm(tmp, { force: true });
        throw error;
      }
    },
  };
}

function encode(vector: Float32Array): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + vector.byteLength);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(vector.length, 4);
  Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(buf, HEADER_BYTES);
  return buf;
}

function decode(bytes: Buffer, dim: number): Float32Array | null {
  if (bytes.length !== HEADER_BYTES + dim * 4) return null;
  if (bytes.readUInt32LE(0) !== MAGIC || bytes.readUInt32LE(4) !== dim) return null;
  const out = new Float32Array(dim);
  Buffer.from(out.buffer).set(bytes.subarray(HEADER_BYTES));
  return out;
}
