// The recent-projects list: a small JSON in dataDir(), newest first. It is only a convenience, so a
// damaged list is replaced rather than reported, and projects whose folder is gone are left out.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { dataDir, writeFileAtomic } from '../paths';
import { projectFile } from './store';

export const RECENT_LIMIT = 10;

const RecentEntry = z.object({ dir: z.string(), name: z.string(), updatedAt: z.string() });
export type RecentProject = z.infer<typeof RecentEntry>;

export function recentFile(): string {
  return path.join(dataDir(), 'recent-projects.json');
}

async function readList(): Promise<RecentProject[]> {
  try {
    const parsed = z.array(RecentEntry).safeParse(JSON.parse(await fs.promises.readFile(recentFile(), 'utf8')));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

let writing: Promise<unknown> = Promise.resolve();

/** Puts a project at the top of the list (once), keeping the newest RECENT_LIMIT. */
export function rememberProject(entry: RecentProject): Promise<RecentProject[]> {
  const next = writing.catch(() => undefined).then(async () => {
    const others = (await readList()).filter((e) => path.resolve(e.dir) !== path.resolve(entry.dir));
    const list = [entry, ...others].slice(0, RECENT_LIMIT);
    await writeFileAtomic(recentFile(), `${JSON.stringify(list, null, 2)}\n`);
    return list;
  });
  writing = next;
  return next;
}

/** The recent projects that still exist on disk, newest first. */
export async function recentProjects(): Promise<RecentProject[]> {
  await writing.catch(() => undefined);
  const list = await readList();
  const present = await Promise.all(list.map((e) => fs.promises.access(projectFile(e.dir)).then(() => true, () => false)));
  return list.filter((_, i) => present[i]);
}
