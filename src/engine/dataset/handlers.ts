// The dataset calls of the engine contract: scan a folder (with progress and cancel) and browse
// folders for the browser-mode folder picker.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineError, type CallContext, type ServerHandlers } from '../../shared/rpc';
import { progressReporter } from '../progress';
import { scanDataset } from './scan';
import { isIgnoredName } from './walk';

/** Every file scanned; while the folder is still being listed, 'Looking for photos' (the rpc boundary re-sends it every second). */
function scanProgress(ctx: CallContext): (done: number, total: number) => void {
  const send = progressReporter(ctx);
  const report = (done: number, total: number) => send({ stage: 'scan', done, total, message: total ? `${done} of ${total} files` : 'Looking for photos' });
  report(0, 0);
  return report;
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
      const { summary } = await scanDataset(root, { validFraction, signal: ctx.signal, onProgress: scanProgress(ctx) });
      return summary;
    },
    'dataset/browse': async ({ dir }) => browse(dir),
  };
}
