// Where Foldwise keeps things on disk. Every location can be overridden by one environment
// variable so tests and benchmarks can start cold and find the shared weights and datasets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFolder, noteWritePath } from './fs-errors';

/** The user's cache folder for Foldwise (thumbnails, features, downloaded backbones). FOLDWISE_CACHE overrides it. */
export function cacheDir(): string {
  if (process.env.FOLDWISE_CACHE) return path.resolve(process.env.FOLDWISE_CACHE);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'Foldwise');
  if (process.platform === 'win32') return path.join(process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'Foldwise', 'Cache');
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'foldwise');
}

/** The user's data folder (projects list, settings). FOLDWISE_DATA overrides it. */
export function dataDir(): string {
  if (process.env.FOLDWISE_DATA) return path.resolve(process.env.FOLDWISE_DATA);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Foldwise');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Foldwise');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'foldwise');
}

/** The folder holding Foldwise's own package.json (works from src/ under vitest and from dist/). */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate) && JSON.parse(fs.readFileSync(candidate, 'utf8')).name === 'foldwise') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Foldwise's version, as its package.json says ('unknown' when that cannot be read). */
export function appVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The shared weights and datasets (../shared beside the checkout). FOLDWISE_SHARED overrides it. */
export function sharedDir(): string {
  return path.resolve(process.env.FOLDWISE_SHARED ?? path.join(packageRoot(), '..', 'shared'));
}

/** Writes a file atomically: a temp name in the same folder, then a rename. A failure names the file (fs-errors.ts words it). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await makeFolder(path.dirname(file));
  const tmp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (error) {
    await fs.promises.rm(tmp, { force: true });
    throw noteWritePath(error, file);
  }
}
