import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, createPortPair, serveRpc, type EngineClient } from '../../shared/rpc';
import { writeTestRun } from '../run/test-run.test-helpers';
import { projectHandlers } from './handlers';
import { newProject, openProject, projectFile, saveProject } from './store';

let tmp: string;
let client: EngineClient;
let stop: () => void;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-project-'));
  vi.stubEnv('FOLDWISE_DATA', path.join(tmp, 'data'));
  const [server, port] = createPortPair();
  stop = serveRpc(server, projectHandlers()).stop;
  client = createClient(port);
});

afterEach(() => {
  stop();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const folder = (name: string) => {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};

describe('project open and save', () => {
  it('starts a new project in an empty folder and reopens it where the user left off', async () => {
    const dir = folder('Bees vs ants');
    const fresh = await client.call('project/open', { dir });
    expect(fresh).toMatchObject({ name: 'Bees vs ants', root: null, step: 'folders', runs: [], moves: [] });
    expect(fs.existsSync(projectFile(dir))).toBe(true);

    const edited = {
      ...fresh,
      root: '/photos/hymenoptera',
      edits: { exclude: ['train/ants/imageNotFound.gif'], relabel: { 'train/ants/x.jpg': 'bees' } },
      lr: 0.003,
      step: 'review',
      runs: [{ runId: 'r1', runDir: path.join(dir, 'runs', 'r1'), createdAt: '2026-01-01T00:00:00.000Z', backbone: 'mobilenet_v2_035', accuracy: 0.93, status: 'done' as const }],
    };
    await client.call('project/save', { project: edited });
    const reopened = await client.call('project/open', { dir });
    expect(reopened.step).toBe('review');
    expect(reopened.lr).toBe(0.003);
    expect(reopened.edits).toEqual(edited.edits);
    expect(reopened.runs).toEqual(edited.runs);
  });

  it('keeps the previous project.json when a save fails half way', async () => {
    const dir = folder('p');
    const before = await saveProject({ ...newProject(dir), step: 'train', lr: 0.01 });
    const original = fs.readFileSync(projectFile(dir), 'utf8');
    // The disk fills up after half the bytes of the temp file are written.
    vi.spyOn(fs.promises, 'writeFile').mockImplementationOnce(async (file, data) => {
      fs.writeFileSync(file as string, String(data).slice(0, 20));
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    });
    await expect(saveProject({ ...before, step: 'export', lr: 0.5 })).rejects.toMatchObject({
      name: 'project/write-failed',
      message: `Foldwise could not save ${projectFile(dir)}: The disk holding ${dir} is full. Free some space or choose another folder. The previous version is unchanged.`,
    });
    expect(fs.readFileSync(projectFile(dir), 'utf8')).toBe(original);
    expect(fs.readdirSync(dir)).toEqual(['project.json']); // no temp file left behind
    expect((await openProject(dir)).step).toBe('train');
  });

  it('names a damaged project.json, keeps a copy, and starts fresh on the next open', async () => {
    const dir = folder('damaged');
    fs.writeFileSync(projectFile(dir), '{"version": 1, "name": "half a fi');
    const error = await client.call('project/open', { dir }).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.name).toBe('project/corrupt');
    expect(error?.message).toContain(projectFile(dir));
    const backups = fs.readdirSync(dir).filter((f) => f.startsWith('project.json.damaged-'));
    expect(backups).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, backups[0]!), 'utf8')).toBe('{"version": 1, "name": "half a fi');
    expect(error?.message).toContain(backups[0]);

    const fresh = await client.call('project/open', { dir });
    expect(fresh.step).toBe('folders');
  });

  it('treats a project.json of the wrong shape as damaged too', async () => {
    const dir = folder('wrong');
    fs.writeFileSync(projectFile(dir), JSON.stringify({ version: 7, dir }));
    await expect(openProject(dir)).rejects.toMatchObject({ name: 'project/corrupt' });
  });

  it('refuses a folder that does not exist, and relative paths', async () => {
    await expect(client.call('project/open', { dir: path.join(tmp, 'nope') })).rejects.toMatchObject({ name: 'project/not-found' });
    await expect(client.call('project/open', { dir: 'relative/dir' })).rejects.toMatchObject({ name: 'project/bad-path' });
  });

  it('marks runs interrupted by a crash as failed, and finished ones as done', async () => {
    const dir = folder('runs');
    // A finished run whose one validation photo is right, and a run that crashed before finishing.
    const items = [{ file: 'a.jpg', id: 'a', split: 'valid' as const, label: 'ants', probabilities: [0.9, 0.1] }];
    const finished = await writeTestRun(path.join(dir, 'runs', 'a'), { classes: ['ants', 'bees'], items });
    await writeTestRun(path.join(dir, 'runs', 'b'), { classes: ['ants', 'bees'], items, unfinished: true });
    const run = { createdAt: '2026-01-01T00:00:00.000Z', backbone: 'b', accuracy: null, status: 'running' as const };
    await saveProject({ ...newProject(dir), runs: [{ ...run, runId: 'a', runDir: finished }, { ...run, runId: 'b', runDir: path.join(dir, 'runs', 'b') }] });
    const reopened = await openProject(dir);
    expect(reopened.runs.map((r) => [r.runId, r.status, r.accuracy])).toEqual([
      ['a', 'done', 1],
      ['b', 'failed', null],
    ]);
  });

  it('follows a project folder that was moved', async () => {
    const dir = folder('old');
    await saveProject({ ...newProject(dir), step: 'train' });
    const moved = path.join(tmp, 'new');
    fs.renameSync(dir, moved);
    expect(await openProject(moved)).toMatchObject({ dir: moved, step: 'train' });
  });
});

describe('recent projects', () => {
  it('lists opened projects newest first, once each, without ones that are gone', async () => {
    const a = folder('a');
    const b = folder('b');
    const c = folder('c');
    await client.call('project/open', { dir: a });
    await client.call('project/open', { dir: b });
    await client.call('project/open', { dir: c });
    await client.call('project/open', { dir: a });
    expect((await client.call('project/recent', {})).map((r) => r.name)).toEqual(['a', 'c', 'b']);
    fs.rmSync(c, { recursive: true });
    expect((await client.call('project/recent', {})).map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('shrugs off a damaged recent list', async () => {
    fs.mkdirSync(path.join(tmp, 'data'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'data', 'recent-projects.json'), 'garbage');
    expect(await client.call('project/recent', {})).toEqual([]);
    await client.call('project/open', { dir: folder('z') });
    expect((await client.call('project/recent', {})).map((r) => r.name)).toEqual(['z']);
  });
});

describe('move file with undo', () => {
  async function photos() {
    const root = folder('photos');
    for (const f of ['train/ants/a.jpg', 'train/bees/a.jpg', 'train/ants/b.jpg']) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), f);
    }
    const dir = folder('project');
    await saveProject({
      ...newProject(dir),
      root,
      edits: { exclude: ['train/ants/a.jpg'], relabel: { 'train/ants/a.jpg': 'bees' } },
    });
    return { root, dir };
  }

  it('moves a photo to the other class folder without overwriting, records it, and undoes it', async () => {
    const { root, dir } = await photos();
    const { project, move } = await client.call('project/move-file', { dir, file: 'train/ants/a.jpg', label: 'bees' });
    expect(move).toMatchObject({ from: 'train/ants/a.jpg', to: 'train/bees/a (2).jpg' });
    expect(fs.readFileSync(path.join(root, 'train/bees/a (2).jpg'), 'utf8')).toBe('train/ants/a.jpg');
    expect(fs.readFileSync(path.join(root, 'train/bees/a.jpg'), 'utf8')).toBe('train/bees/a.jpg');
    expect(fs.existsSync(path.join(root, 'train/ants/a.jpg'))).toBe(false);
    expect(project.edits).toEqual({ exclude: ['train/bees/a (2).jpg'], relabel: {} });
    expect((await openProject(dir)).moves).toEqual([move]); // survives a restart

    const undone = await client.call('project/undo-move', { dir, id: move.id });
    expect(fs.readFileSync(path.join(root, 'train/ants/a.jpg'), 'utf8')).toBe('train/ants/a.jpg');
    expect(fs.existsSync(path.join(root, 'train/bees/a (2).jpg'))).toBe(false);
    expect(undone.project.moves).toEqual([]);
    expect(undone.project.edits.exclude).toEqual(['train/ants/a.jpg']);
  });

  it('creates a new class folder and refuses paths outside the photos folder', async () => {
    const { root, dir } = await photos();
    await client.call('project/move-file', { dir, file: 'train/ants/b.jpg', label: 'wasps' });
    expect(fs.existsSync(path.join(root, 'train/wasps/b.jpg'))).toBe(true);
    await expect(client.call('project/move-file', { dir, file: '../project/project.json', label: 'x' })).rejects.toMatchObject({ name: 'project/bad-path' });
    await expect(client.call('project/move-file', { dir, file: 'train/bees/a.jpg', label: '../../etc' })).rejects.toMatchObject({ name: 'project/bad-label' });
    await expect(client.call('project/move-file', { dir, file: 'train/ants/gone.jpg', label: 'bees' })).rejects.toMatchObject({ name: 'project/file-missing' });
  });

  it('will not undo over a file that took the old place', async () => {
    const { root, dir } = await photos();
    const { move } = await client.call('project/move-file', { dir, file: 'train/ants/b.jpg', label: 'bees' });
    fs.writeFileSync(path.join(root, 'train/ants/b.jpg'), 'new');
    await expect(client.call('project/undo-move', { dir, id: move.id })).rejects.toMatchObject({ name: 'project/move-conflict' });
    expect(fs.readFileSync(path.join(root, 'train/ants/b.jpg'), 'utf8')).toBe('new');
    expect(fs.existsSync(path.join(root, 'train/bees/b.jpg'))).toBe(true);
  });
});
