// What a scan remembers between runs, in cacheDir()/datasets (never in the user's folders).
// A file whose size and mtime are unchanged is not read again; a renamed or copied file is read and
// hashed but not decoded again, because decoded facts are stored by content id.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ProblemKind } from '../../shared/types';
import { cacheDir, writeFileAtomic } from '../paths';

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

export interface ScanIndex {
  version: typeof VERSION;
  files: Record<string, FileRecord>;
  content: Record<string, ContentFacts>;
}


export function indexFile(root: string): string {
  const key = crypto.createHash('sha1').update(root).digest('hex').slice(0, 16);
  return path.join(cacheDir(), 'datasets', `${key}.json`);
}

export async function loadIndex(root: string): Promise<ScanIndex> {
  try {
    const parsed = JSON.parse(await fs.promises.readFile(indexFile(root), 'utf8')) as ScanIndex;
    if (parsed.version === VERSION && parsed.files && parsed.content) return parsed;
  } catch {
    // No index yet, or an unreadable one: a cold scan rebuilds it.
  }
  return { version: VERSION, files: {}, content: {} };
}

/** Keeps only what this scan saw, so deleted photos do not linger in the index. */
export async function saveIndex(root: string, index: ScanIndex): Promise<void> {
  const used = new Set(Object.values(index.files).map((r) => r.id));
  const content = Object.fromEntries(Object.entries(index.content).filter(([id]) => used.has(id)));
  await writeFileAtomic(indexFile(root), JSON.stringify({ version: VERSION, files: index.files, content }));
}
