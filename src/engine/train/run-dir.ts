// A run folder is written under a hidden ".<name>.partial" sibling and renamed into place only
// when everything is written, so a cancelled or crashed run never replaces or damages another.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../paths';

export interface RunDirWriter {
  /** Final location. */
  dir: string;
  /** Where files go until commit(). */
  partial: string;
  file(name: string): string;
  writeJson(name: string, value: unknown): Promise<void>;
  appendLine(name: string, value: unknown): Promise<void>;
  /** Moves the finished run into place (replacing an older run at the same path only now). */
  commit(): Promise<void>;
  /** Removes the partial folder; the final location is untouched. */
  discard(): Promise<void>;
}

/** A run id that sorts by time: 20261123-104512-k3f9. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function openRunDir(dir: string): Promise<RunDirWriter> {
  const final = path.resolve(dir);
  const partial = path.join(path.dirname(final), `.${path.basename(final)}.partial`);
  await fs.promises.rm(partial, { recursive: true, force: true }); // left by a crash: never a finished run
  await fs.promises.mkdir(partial, { recursive: true });
  const file = (name: string) => path.join(partial, name);
  return {
    dir: final,
    partial,
    file,
    writeJson: (name, value) => writeFileAtomic(file(name), `${JSON.stringify(value, null, 2)}\n`),
    appendLine: (name, value) => fs.promises.appendFile(file(name), `${JSON.stringify(value)}\n`),
    async commit() {
      const old = `${partial}.old`;
      const exists = fs.existsSync(final);
      if (exists) await fs.promises.rename(final, old);
      try {
        await fs.promises.rename(partial, final);
      } catch (error) {
        if (exists) await fs.promises.rename(old, final);
        throw error;
      }
      if (exists) await fs.promises.rm(old, { recursive: true, force: true });
    },
    discard: () => fs.promises.rm(partial, { recursive: true, force: true }),
  };
}
