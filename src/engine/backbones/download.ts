// Downloads a backbone's files into the cache: resumable (HTTP Range into <file>.part), checked
// against the catalog's sha256 digests, and stored atomically (a staging folder renamed into place
// only when every file is verified). A dead or stalled connection fails fast with a way forward.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EngineError } from '../../shared/rpc';
import { backboneBytes, type BackboneFile, type BackboneSpec } from './catalog';

export interface DownloadProgress {
  /** Bytes on disk so far, all files together (resumed bytes included). */
  done: number;
  total: number;
  file: string;
}

export interface DownloadOptions {
  /** Folder URL holding model.json and the weight files; ends with '/'. */
  url: string;
  signal?: AbortSignal;
  onProgress?(progress: DownloadProgress): void;
  /** Give up when the server has not answered within this time. Default 15 s. */
  connectTimeoutMs?: number;
  /** Give up when no byte has arrived for this long. Default 30 s. */
  stallTimeoutMs?: number;
  /** Known to be offline (or downloads not allowed): fail at once with the way forward. */
  offline?: boolean;
}

/** The staging folder beside the final one; it survives an interrupted download so the next try resumes. */
export function stagingDir(finalDir: string): string {
  return path.join(path.dirname(finalDir), `.${path.basename(finalDir)}.partial`);
}

export function offlineError(spec: BackboneSpec, why: string, detail: Record<string, unknown> = {}): EngineError {
  return new EngineError(
    'backbone/offline',
    `${spec.name} is not on this computer and cannot be downloaded right now (${why}). ` +
      'Connect to the internet once and try again (a stopped download resumes where it left off), ' +
      'or import a folder that contains its model.json and weight files.',
    { id: spec.id, ...detail },
  );
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch {
    return -1;
  }
}

/** True when `dir` holds every file of the backbone at its catalogued size (digests are checked on arrival). */
export function isComplete(dir: string, spec: BackboneSpec): boolean {
  return spec.files.every((f) => {
    try {
      return fs.statSync(path.join(dir, f.path)).size === f.bytes;
    } catch {
      return false;
    }
  });
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });

/**
 * One download per backbone at a time, across worker threads and processes: the lock is a file
 * created exclusively and touched while bytes arrive; a lock nobody touched for `staleMs` is taken over.
 */
async function acquireLock(lock: string, staleMs: number, finalDir: string, spec: BackboneSpec, signal?: AbortSignal): Promise<boolean> {
  for (;;) {
    signal?.throwIfAborted();
    try {
      await (await fs.promises.open(lock, 'wx')).close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (isComplete(finalDir, spec)) return false; // someone else finished it meanwhile
    const touched = await fs.promises.stat(lock).then((s) => s.mtimeMs, () => 0);
    if (Date.now() - touched > staleMs) await fs.promises.rm(lock, { force: true });
    else await sleep(200, signal);
  }
}

/** Downloads every file of `spec` from options.url, verifies it, then renames the set into `finalDir`. */
export async function downloadBackbone(spec: BackboneSpec, finalDir: string, options: DownloadOptions): Promise<void> {
  if (options.offline) throw offlineError(spec, 'downloads are turned off');
  const staging = stagingDir(finalDir);
  const lock = `${staging}.lock`;
  await fs.promises.mkdir(path.dirname(finalDir), { recursive: true });
  const staleMs = 2 * Math.max(options.stallTimeoutMs ?? 30_000, options.connectTimeoutMs ?? 15_000);
  if (!(await acquireLock(lock, staleMs, finalDir, spec, options.signal))) return;
  try {
    if (isComplete(finalDir, spec)) return;
    await downloadLocked(spec, finalDir, staging, lock, options);
  } finally {
    await fs.promises.rm(lock, { force: true });
  }
}

async function downloadLocked(spec: BackboneSpec, finalDir: string, staging: string, lock: string, options: DownloadOptions): Promise<void> {
  await fs.promises.mkdir(staging, { recursive: true });
  const total = backboneBytes(spec);
  const done = new Map<string, number>();
  let touchedAt = Date.now();
  const report = (file: string) => {
    if (Date.now() - touchedAt > 1000) {
      touchedAt = Date.now();
      fs.utimes(lock, new Date(), new Date(), () => undefined); // still alive: keep the lock fresh
    }
    options.onProgress?.({ done: [...done.values()].reduce((a, b) => a + b, 0), total, file });
  };

  for (const file of spec.files) {
    const target = path.join(staging, file.path);
    if ((await sizeOf(target)) === file.bytes) {
      done.set(file.path, file.bytes); // verified before it was renamed from .part
      continue;
    }
    await downloadFile(spec, file, target, options, (bytes) => {
      done.set(file.path, bytes);
      report(file.path);
    });
  }
  report(spec.files[spec.files.length - 1]?.path ?? '');
  await fs.promises.rm(finalDir, { recursive: true, force: true });
  await fs.promises.rename(staging, finalDir);
}

async function downloadFile(spec: BackboneSpec, file: BackboneFile, target: string, options: DownloadOptions, onBytes: (bytes: number) => void): Promise<void> {
  const part = `${target}.part`;
  let start = Math.max(0, await sizeOf(part));
  if (start > file.bytes) {
    await fs.promises.rm(part, { force: true });
    start = 0;
  }
  const url = new URL(file.path, options.url).toString();
  if (start < file.bytes) await fetchInto(spec, url, part, start, file.bytes, options, onBytes);

  const size = await sizeOf(part);
  const digest = size === file.bytes ? await sha256File(part) : null;
  if (digest !== file.sha256) {
    // A wrong file must never be used or resumed from: drop everything downloaded so far.
    await fs.promises.rm(path.dirname(target), { recursive: true, force: true });
    throw new EngineError(
      'backbone/corrupt',
      `The download of ${spec.name} was damaged (${file.path} is ${size} bytes${digest ? `, sha256 ${digest.slice(0, 12)}…` : ''}; expected ${file.bytes} bytes, sha256 ${file.sha256.slice(0, 12)}…). ` +
        'It was deleted; try again, and if this keeps happening the network or mirror is changing the file.',
      { id: spec.id, file: file.path, url, bytes: size, sha256: digest },
    );
  }
  await fs.promises.rename(part, target);
  onBytes(file.bytes);
}

/** Appends the bytes of `url` from `start` to `part`, resuming with a Range request. */
async function fetchInto(spec: BackboneSpec, url: string, part: string, start: number, expected: number, options: DownloadOptions, onBytes: (bytes: number) => void): Promise<void> {
  const controller = new AbortController();
  const abortFromCaller = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abortFromCaller, { once: true });
  options.signal?.throwIfAborted();
  let timedOut: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, why: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = why;
      controller.abort(new Error(why));
    }, ms);
  };
  const connectMs = options.connectTimeoutMs ?? 15_000;
  const stallMs = options.stallTimeoutMs ?? 30_000;

  let handle: fs.promises.FileHandle | null = null;
  try {
    arm(connectMs, `no answer from ${new URL(url).host} within ${Math.round(connectMs / 1000)} s`);
    const response = await fetch(url, { signal: controller.signal, headers: start > 0 ? { Range: `bytes=${start}-` } : {} });
    if (response.status === 416) return; // nothing left to send: the digest check decides
    if (!response.ok || !response.body) {
      throw new EngineError('backbone/download-failed', `The server refused ${url} (HTTP ${response.status}). Try again later, or import a folder that contains the model.`, {
        id: spec.id,
        url,
        status: response.status,
      });
    }
    const resumed = response.status === 206;
    handle = await fs.promises.open(part, resumed ? 'a' : 'w');
    let bytes = resumed ? start : 0;
    onBytes(bytes);
    arm(stallMs, `the download stalled: nothing arrived for ${Math.round(stallMs / 1000)} s`);
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      await handle.write(chunk);
      bytes += chunk.byteLength;
      onBytes(bytes);
      if (bytes > expected) break; // more than the catalogued size: stop filling the disk; the digest check rejects it
      arm(stallMs, `the download stalled: nothing arrived for ${Math.round(stallMs / 1000)} s`);
    }
  } catch (error) {
    if (error instanceof EngineError) throw error;
    if (options.signal?.aborted) throw options.signal.reason ?? error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'EDQUOT') {
      const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full' : 'Foldwise may not write there';
      throw new EngineError('backbone/cannot-save', `${spec.name} cannot be saved in ${path.dirname(part)}: ${why}. Free some space or set FOLDWISE_CACHE to another folder.`, {
        id: spec.id,
        code,
      });
    }
    throw offlineError(spec, timedOut ?? describeNetworkError(error), { url });
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', abortFromCaller);
    await handle?.close();
  }
}

/** fetch's "fetch failed" hides the reason in `cause`; turn the usual ones into words. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the download server cannot be found: this computer seems to be offline';
    case 'ECONNREFUSED':
      return 'the download server refused the connection';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection broke during the download';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'the download server did not answer';
    default:
      return cause?.message ?? (error as Error).message ?? String(error);
  }
}
