// Small real disks for full-disk tests: a tmpfs of a few MB (or a few files), mounted in a temp
// folder. Mounting needs root, which CI has; elsewhere the tests print why they skip.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Fills the disk with one file until only `leaveBytes` are free (the file is named "filler"). */
  fill(leaveBytes: number): void;
  /** What is on the disk now, "filler" aside (relative paths, hidden folders included). */
  contents(): string[];
  unmount(): void;
}

/** Why small disks cannot be made here, or null when they can. */
export function noSmallDisks(): string | null {
  return process.getuid?.() === 0 ? null : 'full-disk tests mount a small tmpfs, which needs root (CI runs as root); skipped here';
}

/** Mounts a tmpfs of `size` (e.g. "3m"), optionally with few inodes (files) or read-only. */
export function mountSmallDisk(opts: { size?: string; inodes?: number; readOnly?: boolean } = {}): SmallDisk {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-small-disk-'));
  const options = [`size=${opts.size ?? '3m'}`, ...(opts.inodes ? [`nr_inodes=${opts.inodes}`] : []), ...(opts.readOnly ? ['ro'] : [])].join(',');
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  const list = (rel: string): string[] =>
    fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
      const name = path.join(rel, e.name);
      return e.isDirectory() ? [name, ...list(name)] : [name];
    });
  return {
    dir,
    fill(leaveBytes) {
      const s = fs.statfsSync(dir);
      const free = Number(s.bavail) * Number(s.bsize);
      fs.writeFileSync(path.join(dir, 'filler'), Buffer.alloc(Math.max(0, free - leaveBytes)));
    },
    contents: () => list('').filter((f) => f !== 'filler'),
    unmount() {
      execFileSync('umount', [dir]);
      fs.rmdirSync(dir);
    },
  };
}
