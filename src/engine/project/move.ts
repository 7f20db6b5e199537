// "Move file": when a user gives a photo another label and asks for the file itself to move, it goes
// to the sibling class folder (root/ants/x.jpg -> root/bees/x.jpg, root/train/ants/x.jpg ->
// root/train/bees/x.jpg). Every move is recorded in the project so it can be undone, even after a restart.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EngineError } from '../../shared/rpc';
import type { FileMove, Project } from '../../shared/types';
import { openProject, saveProject } from './store';

/** A dataset-relative path with `/`, checked to stay inside the root. */
function insideRoot(root: string, relative: string): string {
  const absolute = path.resolve(root, ...relative.split('/'));
  const rel = path.relative(root, absolute);
  if (!relative || rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new EngineError('project/bad-path', `"${relative}" is not a file inside the photos folder ${root}.`);
  }
  return absolute;
}

function checkLabel(label: string): void {
  if (!label.trim() || label === '.' || label === '..' || /[\\/]/.test(label) || label.includes('\0')) {
    throw new EngineError('project/bad-label', `"${label}" cannot be a class folder name: use a name without slashes.`);
  }
}

/** `name.jpg`, or `name (2).jpg`, ... : the first name not taken in `dir`. */
async function freeName(dir: string, base: string): Promise<string> {
  const ext = path.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? base : `${stem} (${n})${ext}`;
    const taken = await fs.promises.lstat(path.join(dir, candidate)).then(() => true, () => false);
    if (!taken) return candidate;
  }
}

function requireRoot(project: Project): string {
  if (!project.root) throw new EngineError('project/no-folder', 'This project has no photos folder yet: pick one first.');
  return project.root;
}

const toPosix = (p: string) => p.split(path.sep).join('/');

/** Renames `edits` entries from one relative path to another (exclusions follow the file; its relabel is settled by the move). */
function followFile(project: Project, from: string, to: string): Project['edits'] {
  const relabel = { ...project.edits.relabel };
  delete relabel[from];
  delete relabel[to];
  return { exclude: project.edits.exclude.map((f) => (f === from ? to : f)), relabel };
}

/** Moves `file` (relative to the project's photos folder) into the class folder `label`, and records it. */
export async function moveFile(dir: string, file: string, label: string): Promise<{ project: Project; move: FileMove }> {
  checkLabel(label);
  const project = await openProject(dir);
  const root = requireRoot(project);
  const source = insideRoot(root, file);
  const stat = await fs.promises.lstat(source).catch(() => null);
  if (!stat?.isFile()) throw new EngineError('project/file-missing', `${source} is not there any more, so it cannot be moved.`);
  const classDir = path.dirname(source);
  if (path.resolve(classDir) === path.resolve(root)) {
    throw new EngineError('project/bad-path', `${source} is not inside a class folder, so Foldwise does not know where to move it.`);
  }
  if (path.basename(classDir) === label) throw new EngineError('project/same-label', `${source} is already in the "${label}" folder.`);
  const targetDir = path.join(path.dirname(classDir), label);
  await fs.promises.mkdir(targetDir, { recursive: true });
  const target = path.join(targetDir, await freeName(targetDir, path.basename(source)));
  await fs.promises.rename(source, target);

  const move: FileMove = {
    id: crypto.randomUUID(),
    from: toPosix(path.relative(root, source)),
    to: toPosix(path.relative(root, target)),
    movedAt: new Date().toISOString(),
  };
  try {
    const saved = await saveProject({ ...project, edits: followFile(project, move.from, move.to), moves: [...project.moves, move] });
    return { project: saved, move };
  } catch (error) {
    await fs.promises.rename(target, source).catch(() => undefined); // no record, no move
    throw error;
  }
}

/** Puts a moved file back where it came from and forgets the move. */
export async function undoMove(dir: string, id: string): Promise<{ project: Project; move: FileMove }> {
  const project = await openProject(dir);
  const root = requireRoot(project);
  const move = project.moves.find((m) => m.id === id);
  if (!move) throw new EngineError('project/no-such-move', 'That move is not in this project any more, so there is nothing to undo.');
  const current = insideRoot(root, move.to);
  const original = insideRoot(root, move.from);
  if (!(await fs.promises.lstat(current).then((s) => s.isFile(), () => false))) {
    throw new EngineError('project/file-missing', `${current} is not there any more, so it cannot be moved back.`);
  }
  if (await fs.promises.lstat(original).then(() => true, () => false)) {
    throw new EngineError('project/move-conflict', `${original} exists again, so moving ${current} back would overwrite it. Rename one of them first.`);
  }
  await fs.promises.mkdir(path.dirname(original), { recursive: true });
  await fs.promises.rename(current, original);
  try {
    const saved = await saveProject({
      ...project,
      edits: followFile(project, move.to, move.from),
      moves: project.moves.filter((m) => m.id !== id),
    });
    return { project: saved, move };
  } catch (error) {
    await fs.promises.rename(original, current).catch(() => undefined);
    throw error;
  }
}
