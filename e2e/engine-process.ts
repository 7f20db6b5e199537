// Helpers for the tests that look at `foldwise serve`'s engine child from outside: finding it through
// /proc (Linux only) and a tiny folder of real photos to run it on.
import fs from 'node:fs';
import path from 'node:path';
import { HYMENOPTERA } from './fixtures';

/** Process ids whose parent is `pid` (the engine is serve's only child). */
export function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Three real photos each of ants and bees in `root`. */
export function photoFolder(root: string): string {
  for (const label of ['ants', 'bees']) {
    const from = path.join(HYMENOPTERA, 'train', label);
    fs.mkdirSync(path.join(root, label), { recursive: true });
    for (const file of fs.readdirSync(from).filter((f) => f.endsWith('.jpg')).slice(0, 3)) fs.copyFileSync(path.join(from, file), path.join(root, label, file));
  }
  return root;
}
