// A project is a folder with a project.json: the photos' folder, the user's edits, the chosen
// learning rate and backbone, the runs and the wizard step. It is written atomically, so a crash
// or a full disk leaves the previous version, never half a file.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_BACKBONE } from '../../shared/defaults';
import { Project as ProjectSchema } from '../../shared/schemas';
import { EngineError } from '../../shared/rpc';
import type { Project, RunSummary } from '../../shared/types';
import { plainFsError } from '../fs-errors';
import { writeFileAtomic } from '../paths';
import { readRunResult } from '../run';

export const PROJECT_FILE = 'project.json';

export function projectFile(dir: string): string {
  return path.join(dir, PROJECT_FILE);
}

function requireAbsolute(dir: string): string {
  if (!path.isAbsolute(dir)) {
    throw new EngineError('project/bad-path', `A project folder must be a full path; got "${dir}".`);
  }
  return path.resolve(dir);
}

/** A fresh project for `dir`, at the first wizard step. */
export function newProject(dir: string, now = new Date()): Project {
  const resolved = requireAbsolute(dir);
  return {
    version: 1,
    dir: resolved,
    name: path.basename(resolved) || resolved,
    root: null,
    edits: { exclude: [], relabel: {} },
    lr: null,
    backbone: DEFAULT_BACKBONE,
    runs: [],
    step: 'folders',
    updatedAt: now.toISOString(),
    moves: [],
  };
}

// Saves to one file are queued so two quick saves never race on the rename.
const queues = new Map<string, Promise<unknown>>();
function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(work);
  queues.set(key, next);
  void next.finally(() => queues.get(key) === next && queues.delete(key)).catch(() => undefined);
  return next;
}

/** Validates and writes project.json atomically. The project's `dir` decides where it goes. */
export async function saveProject(input: z.input<typeof ProjectSchema>, now = new Date()): Promise<Project> {
  const parsed = ProjectSchema.safeParse(input);
  if (!parsed.success) {
    throw new EngineError('project/invalid', `This project cannot be saved: ${z.prettifyError(parsed.error)}`, parsed.error.issues);
  }
  const dir = requireAbsolute(parsed.data.dir);
  const project: Project = { ...parsed.data, dir, updatedAt: now.toISOString() };
  const file = projectFile(dir);
  await serialized(file, async () => {
    try {
      await writeFileAtomic(file, `${JSON.stringify(project, null, 2)}\n`);
    } catch (error) {
      // A full, read-only or locked folder in plain words (fs-errors.ts), naming the project folder.
      const plain = plainFsError(error, { folder: dir });
      const why = plain instanceof EngineError ? plain.message : `${(error as Error).message}.`;
      throw new EngineError('project/write-failed', `Foldwise could not save ${file}: ${why} The previous version is unchanged.`, plain instanceof EngineError ? { problem: plain.name, ...(plain.detail as object) } : undefined);
    }
  });
  return project;
}

/**
 * Reads project.json in `dir`, or starts a new project there when it has none. A damaged file is
 * moved aside to project.json.damaged-<time> (so nothing is lost) and reported by name; opening the
 * folder again then starts fresh.
 */
export async function openProject(dir: string, now = new Date()): Promise<Project> {
  const resolved = requireAbsolute(dir);
  const stat = await fs.promises.stat(resolved).catch(() => null);
  if (!stat?.isDirectory()) {
    throw new EngineError('project/not-found', `The project folder ${resolved} does not exist (or is not a folder). Pick another folder.`);
  }
  const file = projectFile(resolved);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return saveProject(newProject(resolved, now), now);
    throw new EngineError('project/unreadable', `Foldwise could not read ${file}: ${(error as Error).message}. Check the file's permissions.`);
  }

  let problem: string;
  try {
    const parsed = ProjectSchema.safeParse(JSON.parse(text));
    if (parsed.success) {
      // The folder may have been moved or copied since it was saved: where it is now wins.
      const project: Project = { ...parsed.data, dir: resolved };
      return { ...project, runs: await reconcileRuns(project.runs) };
    }
    problem = z.prettifyError(parsed.error);
  } catch (error) {
    problem = `it is not valid JSON (${(error as Error).message})`;
  }
  const backup = `${file}.damaged-${now.toISOString().replace(/[:.]/g, '-')}`;
  try {
    await fs.promises.rename(file, backup);
  } catch (error) {
    throw new EngineError(
      'project/corrupt',
      `${file} is damaged and could not be read: ${problem}. Foldwise could not move it aside either (${(error as Error).message}); move or delete it, then open the folder again.`,
      { file, backup: null },
    );
  }
  throw new EngineError(
    'project/corrupt',
    `${file} is damaged and could not be read: ${problem}. It was kept as ${backup}; open the folder again to start a fresh project there.`,
    { file, backup },
  );
}

/**
 * A run still marked 'running' when the project is opened was interrupted (the engine stopped or
 * the app closed). Its training result says whether it finished before that; otherwise it failed.
 */
async function reconcileRuns(runs: RunSummary[]): Promise<RunSummary[]> {
  return Promise.all(
    runs.map(async (run) => {
      if (run.status !== 'running') return run;
      const result = await readRunResult(run.runDir);
      return result ? { ...run, status: 'done' as const, accuracy: result.valid.accuracy } : { ...run, status: 'failed' as const };
    }),
  );
}
