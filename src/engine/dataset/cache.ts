// What a scan remembers between runs, in cacheDir()/datasets (never in the user's folders), as JSON
// behind the checked cache header (cache-file.ts): a damaged or outdated index means a cold scan.
// A file whose size and mtime are unchanged is not read again; a renamed or copied file is read and
// hashed but not decoded again, because decoded facts are stored by content id.
import crypto from 'node:crypto';
import path from 'node:path';
import type { ProblemKind } from '../../shared/types';
import { countRead, readCacheFile, writeCacheFile, type CacheFormat, type CacheTally } from '../cache-file';
import { cacheDir } from '../paths';

/** Facts about one picture's content, true wherever the same bytes appear. */
export interface ContentFacts {
  width: number;
  height: number;
  format: string;
  /** Horizontal then vertical 64-bit difference hash, 32 hex digits. */
  hash: string;
}

/** What the last scan saw at one path: the content it had, or why it was not usable. */
export interface FileRecord {
  size: number;
  mtimeMs: number;
  id?: string;
  problem?: { kind: ProblemKind; detail: string };
  /** Not a picture at all (e.g. an unknown extension holding a document): skipped quietly. */
  ignored?: boolean;
}

/** Bumped whenever what is stored changes meaning, so old caches are rebuilt rather than misread. */
export const INDEX_VERSION = 2;
const VERSION = INDEX_VERSION;
/** Before the header the index was bare JSON. */
const INDEX_FORMAT: CacheFormat = { kind: 'scan', version: VERSION, legacy: (bytes) => bytes[0] === 0x7b };

export interface ScanIndex {
  version: typeof VERSION;
  files: Record<string, FileRecord>;
  content: Record<string, ContentFacts>;
}


export function indexFile(root: string): string {
  const key = crypto.createHash('sha1').update(root).digest('hex').slice(0, 16);
  return path.join(cacheDir(), 'datasets', `${key}.json`);
}

/** The index of the last scan of `root`; an empty one (a cold scan) when there is none or it fails its check (counted in `tally`). */
export async function loadIndex(root: string, tally?: CacheTally): Promise<ScanIndex> {
  const read = await readCacheFile(indexFile(root), INDEX_FORMAT, root);
  countRead(tally, read);
  if (read.ok) {
    try {
      const parsed = JSON.parse(read.payload.toString('utf8')) as ScanIndex;
      if (parsed.version === VERSION && parsed.files && parsed.content) return parsed;
    } catch {
      // The checksum matched, so this JSON was written so: a bug, not damage. A cold scan rebuilds it.
    }
  }
  return { version: VERSION, files: {}, content: {} };
}

/** Keeps only what this scan saw, so deleted photos do not linger in the index. */
export async function saveIndex(root: string, index: ScanIndex): Promise<void> {
  const used = new Set(Object.values(index.files).map((r) => r.id));
  const content = Object.fromEntries(Object.entries(index.content).filter(([id]) => used.has(id)));
  await writeCacheFile(indexFile(root), INDEX_FORMAT, root, Buffer.from(JSON.stringify({ version: VERSION, files: index.files, content })));
}
