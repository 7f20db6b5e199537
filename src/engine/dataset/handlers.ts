// The dataset calls of the engine contract: scan a folder (with progress and cancel) and browse
// folders for the browser-mode folder picker.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineError, type CallContext, type ServerHandlers } from '../../shared/rpc';
import { scanDataset } from './scan';
import { isIgnoredName } from './walk';

/** Progress is sent at most this often while photos finish, and at least once a second regardless. */
const PROGRESS_MS = 250;
const HEARTBEAT_MS = 1000;

function progressReporter(ctx: CallContext) {
  let done = 0;
  let total = 0;
  let sentAt = 0;
  const started = Date.now();
  const send = () => {
    sentAt = Date.now();
    const elapsed = (sentAt - started) / 1000;
    const etaSeconds = done > 0 && total > done ? Math.round((elapsed / done) * (total - done)) : null;
    ctx.emit('job/progress', { job: ctx.job, stage: 'scan', done, total, etaSeconds, message: total ? `${done} of ${total} files` : 'Looking for photos' });
  };
  const heartbeat = setInterval(send, HEARTBEAT_MS);
  send();
  return {
    update(d: number, t: number) {
      done = d;
      total = t;
      if (Date.now() - sentAt >= PROGRESS_MS || d === t) send();
    },
    stop: () => clearInterval(heartbeat),
  };
}

export async function browse(dirInput?: string): Promise<{ dir: string; parent: string | null; folders: string[] }> {
  const dir = path.resolve(dirInput && dirInput.trim() ? dirInput.replace(/^~(?=$|[\\/])/, os.homedir()) : os.homedir());
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EngineError('dataset/not-found', `There is no folder at ${dir}.`);
    if (code === 'ENOTDIR') throw new EngineError('dataset/not-a-folder', `${dir} is a file, not a folder.`);
    throw new EngineError('dataset/unreadable', `The folder ${dir} cannot be opened (${code ?? (error as Error).message}).`);
  }
  const folders: string[] = [];
  for (const entry of entries) {
    if (isIgnoredName(entry.name)) continue;
    const full = path.join(dir, entry.name);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await fs.promises.stat(full).then((s) => s.isDirectory(), () => false)));
    if (isDir) folders.push(entry.name);
  }
  folders.sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base', numeric: true }));
  const parent = path.dirname(dir);
  return { dir, parent: parent === dir ? null : parent, folders };
}

export function datasetHandlers(): Pick<Partial<ServerHandlers>, 'dataset/scan' | 'dataset/browse'> {
  return {
    'dataset/scan': async ({ root, validFraction }, ctx) => {
      const progress = progressReporter(ctx);
      try {
        const { summary } = await scanDataset(root, { validFraction, signal: ctx.signal, onProgress: progress.update });
        return summary;
      } finally {
        progress.stop();
      }
    },
    'dataset/browse': async ({ dir }) => browse(dir),
  };
}
