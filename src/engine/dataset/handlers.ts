// The dataset calls of the engine contract: scan a folder (with progress and cancel) and browse
// folders for the browser-mode folder picker.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineError, type CallContext, type ServerHandlers } from '../../shared/rpc';
import { progressThrottle } from '../progress';
import { scanDataset } from './scan';
import { isIgnoredName } from './walk';

/** While a scan runs, progress is re-sent at least this often, so a slow folder never looks stuck. */
const HEARTBEAT_MS = 1000;

function scanProgress(ctx: CallContext) {
  const send = progressThrottle(ctx);
  let done = 0;
  let total = 0;
  const report = (force: boolean) => send({ stage: 'scan', done, total, message: total ? `${done} of ${total} files` : 'Looking for photos' }, force);
  const heartbeat = setInterval(() => report(true), HEARTBEAT_MS);
  report(true);
  return {
    update(d: number, t: number) {
      done = d;
      total = t;
      report(false);
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
      const progress = scanProgress(ctx);
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
