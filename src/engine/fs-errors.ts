// File-system errors in plain words. Node's own ("ENOSPC: no space left on device, write") names
// neither the folder nor what to do. Each place the engine writes passes its errors through
// plainFsError with the folder the user knows (the export or run folder they chose, the cache), and
// the service passes whatever else escapes, so the CLI, the app and the browser show one sentence.
import fs from 'node:fs';
import path from 'node:path';
import { EngineError } from '../shared/rpc';
import { cacheDir } from './paths';

/** Where a write went, in the user's terms. */
export interface WritePlace {
  /** The folder to name: the export or run folder the user chose, the cache folder... */
  folder: string;
  /** About how many bytes the whole write needs there, when known. */
  needBytes?: number;
  /** Errors whose path lies outside this folder are someone else's (default: the folder's parent, where partial siblings live). */
  within?: string;
  /** What else to do than free space, when "choose another folder" is not the answer (say, the runs in the data folder). */
  instead?: string;
  /** Foldwise's cache: not chosen per job, and safe to empty. */
  cache?: boolean;
}

type Problem = 'no-space' | 'not-allowed' | 'read-only' | 'name-too-long' | 'too-many-open-files';

const PROBLEMS: Record<string, Problem> = {
  ENOSPC: 'no-space',
  EDQUOT: 'no-space',
  EACCES: 'not-allowed',
  EPERM: 'not-allowed',
  EROFS: 'read-only',
  ENAMETOOLONG: 'name-too-long',
  EMFILE: 'too-many-open-files',
  ENFILE: 'too-many-open-files',
};

/** System calls that only read: an EACCES from one of them is about reading, not writing. */
const READS = new Set(['scandir', 'opendir', 'stat', 'lstat', 'readlink', 'access', 'read', 'realpath']);

type ErrnoError = Error & { code: string; path?: string; dest?: string; syscall?: string };

function errnoOf(error: unknown): ErrnoError | null {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && !(error instanceof EngineError) && typeof code === 'string' && code in PROBLEMS ? (error as ErrnoError) : null;
}

/** 14 MB, 2.1 MB, 820 kB: sizes as a person reads them, rounded up (a need is never understated). */
export function formatBytes(bytes: number): string {
  const up = (x: number, digits: number) => Math.ceil(x * 10 ** digits) / 10 ** digits;
  if (bytes >= 1e9) return `${up(bytes / 1e9, 1)} GB`;
  if (bytes >= 1e7) return `${Math.ceil(bytes / 1e6)} MB`;
  if (bytes >= 1e6) return `${up(bytes / 1e6, 1)} MB`;
  return `${Math.max(1, Math.ceil(bytes / 1e3))} kB`;
}

/**
 * A folder the user knows for a written path: the cache folder for anything in it, and for Foldwise's
 * hidden work-in-progress siblings (".export.partial-123", ".run.partial") the folder they become.
 */
export function placeOf(file: string, isFolder = false): WritePlace {
  const cache = cacheDir();
  if (isInside(file, cache)) return cachePlace();
  const parts = path.resolve(file).split(path.sep);
  const partial = parts.findIndex((p) => /^\..+\.partial(?:-[^.]*)?(?:\.old)?$/.test(p));
  if (partial > 0) return { folder: [...parts.slice(0, partial), parts[partial]!.replace(/^\.(.+)\.partial.*$/, '$1')].join(path.sep) || path.sep };
  return { folder: isFolder ? path.resolve(file) : path.dirname(path.resolve(file)) };
}

/** The cache: not a folder picked per job, and safe to empty. */
export function cachePlace(): WritePlace {
  return { folder: cacheDir(), within: cacheDir(), cache: true };
}

function isInside(file: string, folder: string): boolean {
  const rel = path.relative(path.resolve(folder), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function sentence(problem: Problem, e: ErrnoError | null, place: WritePlace, freeBytes?: number): string {
  const { folder, needBytes, cache } = place;
  const instead = place.instead ?? 'choose another folder';
  switch (problem) {
    case 'no-space': {
      const state = freeBytes === undefined ? 'is full' : `has only ${formatBytes(freeBytes)} free`;
      const need = needBytes ? `: Foldwise needs about ${formatBytes(needBytes)} there` : '';
      if (cache) return `The disk holding Foldwise’s cache folder ${folder} ${state}${need}. Free some space (emptying the cache folder is safe) or set FOLDWISE_CACHE to a folder on another disk.`;
      return `The disk holding ${folder} ${state}${need}. Free some space or ${instead}.`;
    }
    case 'not-allowed':
      if (e?.syscall && READS.has(e.syscall) && e.path) return `Foldwise is not allowed to read ${e.path}. Change its permissions, or choose a folder you can read.`;
      if (cache) return `Foldwise is not allowed to write in its cache folder ${folder}. Change that folder’s permissions, or set FOLDWISE_CACHE to a folder you can write to.`;
      return `Foldwise is not allowed to write in ${folder}. Change that folder’s permissions or ${instead}.`;
    case 'read-only':
      if (cache) return `Foldwise’s cache folder ${folder} is on a disk that cannot be written to (read-only). Set FOLDWISE_CACHE to a folder on a disk you can write to.`;
      return `${folder} is on a disk that cannot be written to (read-only: a locked memory card, a disk image or a read-only share). Choose a folder on another disk${place.instead ? ` or ${place.instead}` : ''}.`;
    case 'name-too-long':
      return `The name ${e?.path ?? folder} is too long for the disk holding ${folder}. Choose a folder with a shorter name, nearer the top of the disk.`;
    case 'too-many-open-files':
      return `Foldwise had too many files open at once while working in ${folder}. Close some other programs and try again (on Linux and macOS, running "ulimit -n 4096" before starting Foldwise raises the limit).`;
  }
}

/**
 * The error as a plain sentence naming the folder (an EngineError named 'fs/<problem>'), or the error
 * unchanged when it is not a file-system error Foldwise explains. Without a place, or for an error
 * whose path lies outside the place, the folder comes from the error's own path.
 */
export function plainFsError(error: unknown, place?: WritePlace): unknown {
  const e = errnoOf(error);
  if (!e) return error;
  // copyfile names its source first: the side that was being written is `dest`.
  const file = e.syscall === 'copyfile' && e.dest ? e.dest : (e.path ?? e.dest);
  const mine = place && (!file || isInside(file, place.within ?? path.dirname(path.resolve(place.folder))));
  const where = mine ? place : file ? placeOf(file, e.syscall === 'mkdir' && file === e.path) : null;
  if (!where) return error; // no folder to name: Node's words are all there is
  const problem = PROBLEMS[e.code]!;
  return new EngineError(`fs/${problem}`, sentence(problem, e, where), { folder: where.folder, code: e.code, path: file, needBytes: where.needBytes });
}

/** A cache write that failed, as a sentence about the cache folder: never blamed on the photo being cached. */
export function cacheWriteError(error: unknown): EngineError {
  const plain = plainFsError(noteWritePath(error, cacheDir()), cachePlace());
  if (plain instanceof EngineError) return plain;
  const why = (error as { code?: unknown } | null)?.code ?? (error instanceof Error ? error.message : String(error));
  return new EngineError('fs/cache-write-failed', `Foldwise could not write in its cache folder ${cacheDir()} (${String(why)}). Check that disk, or set FOLDWISE_CACHE to a folder on another disk.`);
}

/** Runs `fn`, turning its file-system errors into sentences about `place` (a function: read when it fails, so a size learnt midway counts). */
export async function withPlainFsErrors<T>(place: WritePlace | (() => WritePlace), fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw plainFsError(error, typeof place === 'function' ? place() : place);
  }
}

/** Gives a write error the file it was about: a failed write() names no path, so the sentence could name no folder. */
export function noteWritePath(error: unknown, file: string): unknown {
  const e = errnoOf(error);
  if (e && !e.path) e.path = file;
  return error;
}

/**
 * mkdir -p that reports the real reason it failed: Node's recursive mkdir says ENOENT on a read-only
 * disk (and hides EACCES the same way on some systems), so the first missing level is made alone to
 * learn why. Returns the first folder it made (undefined when `dir` was there), for removing on failure.
 */
export async function makeFolder(dir: string): Promise<string | undefined> {
  try {
    return await fs.promises.mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    let first = path.resolve(dir);
    while (path.dirname(first) !== first && !fs.existsSync(path.dirname(first))) first = path.dirname(first);
    await fs.promises.mkdir(first); // throws the disk's own reason (EROFS, EACCES...) when there is one
    await fs.promises.mkdir(dir, { recursive: true }); // it could be made after all (a race): carry on
    return first;
  }
}

/**
 * Undoes makeFolder(dir) after a failure: removes `dir` with what is in it, then each parent it made
 * (`made` and below) that is empty, so a failed write leaves the disk as it found it. A parent that
 * something else has written into meanwhile stays.
 */
export async function removeMadeFolder(dir: string, made: string | undefined): Promise<void> {
  await fs.promises.rm(dir, { recursive: true, force: true });
  if (!made) return;
  for (let parent = path.dirname(path.resolve(dir)); isInside(parent, made); parent = path.dirname(parent)) {
    if (!(await fs.promises.rmdir(parent).then(() => true, () => false))) return;
  }
}

/** Free bytes for an unprivileged user on the disk that holds `folder` (or would: its nearest existing parent); null when unknown. */
export async function freeBytes(folder: string): Promise<number | null> {
  let dir = path.resolve(folder);
  for (;;) {
    try {
      const s = await fs.promises.statfs(dir);
      return Number(s.bavail) * Number(s.bsize);
    } catch (error) {
      const parent = path.dirname(dir);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) return null;
      dir = parent;
    }
  }
}

/** Refuses to start a write of `place.needBytes` that cannot fit, before any of it is written. One statfs call. */
export async function ensureSpace(place: WritePlace & { needBytes: number }): Promise<void> {
  const free = await freeBytes(place.folder);
  if (free === null || free >= place.needBytes) return;
  throw new EngineError('fs/no-space', sentence('no-space', null, place, free), { folder: place.folder, code: 'ENOSPC', needBytes: place.needBytes, freeBytes: free });
}
