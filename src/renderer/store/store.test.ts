import { describe, expect, it } from 'vitest';
import { DEFAULT_EPOCHS } from '../../shared/defaults';
import type { AppApi, CallHandle, EngineEvents, EventName } from '../../shared/contract';
import type { DatasetSummary, LrCurve, TrainResult } from '../../shared/types';
import { formatPercent, formatRate, joinPath } from '../lib/format';
import { niceTicks } from '../wizard/learning-rate/LrChart';
import { canAdvance as foldersReady } from '../wizard/folders/rules';
import { canAdvance as lrReady, rateWarning } from '../wizard/learning-rate/rules';
import { canAdvance as reviewReady, isDone as reviewDone } from '../wizard/review/rules';
import { canAdvance as trainReady } from '../wizard/train/rules';
import { createAppStore } from './index';
import { lrKey } from './lr';

type Handler = (args: never) => unknown;

/** An AppApi whose calls answer from `handlers` and whose events the test emits by hand. */
function fakeApi(handlers: Record<string, Handler>) {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const calls: { name: string; args: unknown; job: string }[] = [];
  const cancelled: string[] = [];
  let n = 0;
  const api: AppApi = {
    shell: 'browser',
    call(name, args) {
      const job = `job-${++n}`;
      calls.push({ name, args, job });
      const handler = handlers[name];
      const promise = (handler ? Promise.resolve().then(() => handler(args as never)) : Promise.reject(Object.assign(new Error(`${name} missing`), { name: 'rpc/not-available' }))) as CallHandle<never>;
      return Object.assign(promise, { job, cancel: () => cancelled.push(job) });
    },
    on(event, listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(listener as (p: unknown) => void);
      return () => listeners.get(event)!.delete(listener as (p: unknown) => void);
    },
    imageUrl: (id) => `/image/${id}`,
    pickFolder: async () => null,
    showInFolder: async () => false,
    pathForFile: () => null,
  };
  const emit = <E extends EventName>(event: E, payload: EngineEvents[E]) => listeners.get(event)?.forEach((l) => l(payload));
  return { api, calls, cancelled, emit };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A frame scheduler the test runs by hand, to count how often the store is updated. */
function manualFrames() {
  const queue: (() => void)[] = [];
  return { frame: (cb: () => void) => void queue.push(cb), flush: () => queue.splice(0).forEach((cb) => cb()), pending: () => queue.length };
}

const summary = (classes: [string, number][], root = '/photos'): DatasetSummary => ({
  root,
  layout: 'classes',
  classes: classes.map(([name, count]) => ({ name, images: { train: Math.ceil(count * 0.8), valid: count - Math.ceil(count * 0.8), test: 0 }, thumbnails: [] })),
  images: classes.reduce((a, [, c]) => a + c, 0),
  problems: [],
  duplicates: [],
  warnings: [],
  splitFromFolders: false,
});

const curve: LrCurve = {
  suggestion: 0.003,
  chosen: 'valley',
  suggestions: { valley: 0.003, steep: 0.001, minimum: 0.01 },
  curve: [1e-5, 1e-4, 1e-3, 1e-2, 1e-1].map((lr, i) => ({ lr, loss: [0.7, 0.69, 0.5, 0.3, 2][i]! })),
};

describe('renderer store', () => {
  it('scans the folder picked with the menu\'s Open Folder…, from any step', async () => {
    const { api, emit, calls } = fakeApi({ 'dataset/scan': ({ root }: { root: string }) => summary([['cats', 10], ['dogs', 12]], root) });
    const store = createAppStore({ api });
    store.setState({ step: 'train' });
    emit('app/open-folder', { root: '/home/me/pets' });
    expect(store.getState().step).toBe('folders');
    expect(calls.map((c) => c.name)).toEqual(['dataset/scan']);
    await tick();
    expect(store.getState().summary?.root).toBe('/home/me/pets');
    expect(store.getState().folder).toBe('/home/me/pets');
  });

  it('scans a folder and lets the user go on only with two classes that have photos', async () => {
    const { api, calls } = fakeApi({ 'dataset/scan': ({ root }: { root: string }) => summary(root === '/one' ? [['cats', 10], ['dogs', 0]] : [['cats', 10], ['dogs', 12]], root) });
    const store = createAppStore({ api });
    expect(foldersReady(store.getState())).toMatch(/Choose a folder/);

    const scanning = store.getState().scanFolder('/one');
    expect(store.getState().scan.status).toBe('running');
    expect(foldersReady(store.getState())).toBe('Wait for the scan to finish.');
    await scanning;
    expect(foldersReady(store.getState())).toMatch(/only one/);

    await store.getState().scanFolder('  /two  ');
    expect(calls.at(-1)).toMatchObject({ name: 'dataset/scan', args: { root: '/two' } });
    expect(store.getState().summary?.classes.map((c) => c.name)).toEqual(['cats', 'dogs']);
    expect(foldersReady(store.getState())).toBe(true);
  });

  it('shows a scan failure as the engine worded it, and an empty path as a request', async () => {
    const { api } = fakeApi({ 'dataset/scan': () => Promise.reject(new Error('There is no folder at /nope.')) });
    const store = createAppStore({ api });
    await store.getState().scanFolder('   ');
    expect(store.getState().scan.error).toMatch(/Type the path of a folder/);
    await store.getState().scanFolder('/nope');
    expect(store.getState().scan).toMatchObject({ status: 'error', error: 'There is no folder at /nope.' });
  });

  it('keeps the suggested rate, lets the user pick another, and forgets it when the photos change', async () => {
    const { api, calls } = fakeApi({ 'dataset/scan': () => summary([['a', 5], ['b', 5]]), 'train/find-lr': () => curve });
    const store = createAppStore({ api });
    await store.getState().scanFolder('/photos');
    await store.getState().findLearningRate();
    expect(calls.at(-1)).toMatchObject({ name: 'train/find-lr', args: { root: '/photos', backbone: 'mobilenet_pair' } });
    expect(store.getState().lr.chosen).toBe(0.003);
    expect(lrReady(store.getState())).toBe(true);

    store.getState().chooseLearningRate(0.0001);
    expect(store.getState().lr.chosen).toBe(0.0001);

    const before = lrKey(store.getState());
    store.getState().excludeFiles(['a/1.jpg']);
    expect(lrKey(store.getState())).not.toBe(before); // the step reruns the finder for the new data

    await store.getState().scanFolder('/other');
    expect(store.getState().lr.chosen).toBeNull();
    expect(store.getState().edits.exclude).toEqual([]);
  });

  it('forgets "its last layers" when the user switches to a starting model that has none', async () => {
    const backbone = (id: string, tunableTop: boolean) => ({ id, tunableTop });
    const store = createAppStore({ api: fakeApi({}).api });
    store.setState({ backbones: [backbone('mobilenet_v2_035', true), backbone('mobilenet_pair', false)] as never, backbone: 'mobilenet_v2_035' });
    store.getState().setTrainSettings({ fineTune: 'top' });
    store.getState().setBackbone('mobilenet_pair');
    expect(store.getState().trainSettings.fineTune).toBe('auto');
    // Other choices are the user's and stay.
    store.getState().setTrainSettings({ fineTune: 'whole' });
    store.getState().setBackbone('mobilenet_v2_035');
    store.getState().setBackbone('mobilenet_pair');
    expect(store.getState().trainSettings.fineTune).toBe('whole');
  });

  it('draws batch losses at most once a frame and ignores other jobs', async () => {
    const frames = manualFrames();
    let finish!: (r: TrainResult) => void;
    const { api, emit, calls } = fakeApi({ 'train/run': () => new Promise<TrainResult>((r) => (finish = r)) });
    const store = createAppStore({ api, frame: frames.frame });
    let updates = 0;
    store.subscribe(() => updates++);

    void store.getState().startTraining();
    const job = calls.at(-1)!.job;
    // Epochs left to the engine (30, fewer for a big folder), which says how many with each batch.
    expect(calls.at(-1)!.args).toMatchObject({ lr: 'auto', fineTune: 'auto' });
    expect((calls.at(-1)!.args as { epochs?: number }).epochs).toBeUndefined();
    expect(store.getState().training.planned).toBe(DEFAULT_EPOCHS);
    updates = 0;
    for (let b = 1; b <= 200; b++) emit('train/batch', { job, epoch: 1, batch: b, batches: 200, loss: 1 / b });
    emit('train/batch', { job: 'someone-else', epoch: 1, batch: 1, batches: 1, loss: 9 });
    expect(updates).toBe(0);
    expect(frames.pending()).toBe(1);
    frames.flush();
    expect(updates).toBe(1);
    const { batches } = store.getState().training;
    expect(batches).toHaveLength(200);
    expect(batches.at(-1)).toEqual({ x: 1, loss: 1 / 200, stage: 'head' });
    // A big folder: the engine trains the head 10 epochs, and the step counts to 10.
    emit('train/batch', { job, epoch: 2, batch: 1, batches: 200, epochs: 10, loss: 0.01, stage: 'head' });
    frames.flush();
    expect(store.getState().training.planned).toBe(10);

    emit('train/epoch', { job, metrics: { epoch: 1, trainLoss: 0.5, validLoss: 0.4, accuracy: 0.9, seconds: 2 } });
    emit('train/epoch', { job, metrics: { epoch: 1, trainLoss: 0.5, validLoss: 0.4, accuracy: 0.9, seconds: 2 } }); // repeated: one row
    expect(store.getState().training.epochs).toHaveLength(1);
    expect(trainReady(store.getState())).toMatch(/Wait for training/);

    await tick();
    finish({ runId: 'r1', runDir: '/runs/r1', backend: 'wasm', backbone: 'b', classes: ['a', 'b'], lr: 0.003, images: { train: 8, valid: 2, test: 0 }, epochs: [], bestEpoch: 1, valid: { accuracy: 0.9, loss: 0.4 }, test: null, warnings: [], fineTune: null, seconds: { scan: 0, features: 0, train: 1, fineTune: 0, total: 1 } });
    await tick();
    expect(store.getState().training.status).toBe('done');
    expect(trainReady(store.getState())).toBe(true);
  });

  it('pauses and resumes the running job, and says so', async () => {
    const { api, calls } = fakeApi({ 'train/run': () => new Promise(() => undefined), 'train/pause': ({ paused }: { paused: boolean }) => ({ paused }) });
    const store = createAppStore({ api, frame: manualFrames().frame });
    void store.getState().startTraining();
    const job = calls.at(-1)!.job;
    await store.getState().togglePause();
    expect(calls.at(-1)).toMatchObject({ name: 'train/pause', args: { job, paused: true } });
    expect(store.getState().training.status).toBe('paused');
    await store.getState().togglePause();
    expect(calls.at(-1)).toMatchObject({ name: 'train/pause', args: { job, paused: false } });
    expect(store.getState().training.status).toBe('running');
  });

  it('cancels training through the call handle and reports it as cancelled, not failed', async () => {
    let reject!: (e: Error) => void;
    const { api, cancelled, calls } = fakeApi({ 'train/run': () => new Promise((_, r) => (reject = r)) });
    const store = createAppStore({ api, frame: manualFrames().frame });
    const running = store.getState().startTraining();
    store.getState().cancelTraining();
    expect(cancelled).toEqual([calls.at(-1)!.job]);
    await tick();
    reject(Object.assign(new Error('Cancelled.'), { name: 'job/cancelled' }));
    await running;
    expect(store.getState().training).toMatchObject({ status: 'cancelled', error: null });
  });
});

describe('renderer projects', () => {
  it('reopens a project where the user left off: folder, edits, rate, last run and step', async () => {
    const saved = {
      version: 1 as const,
      dir: '/projects/bugs',
      name: 'bugs',
      root: '/photos',
      edits: { exclude: ['a/1.jpg'], relabel: { 'b/2.jpg': 'a' } },
      lr: 0.002,
      backbone: 'mobilenet_v2_035',
      runs: [{ runId: 'r1', runDir: '/projects/bugs/runs/r1', createdAt: '2026-01-01T00:00:00Z', backbone: 'mobilenet_v2_035', accuracy: 0.9, status: 'done' as const }],
      step: 'review',
      updatedAt: '2026-01-01T00:00:00Z',
      moves: [],
    };
    const { api, calls } = fakeApi({ 'project/open': () => saved, 'project/recent': () => [], 'dataset/scan': () => summary([['a', 5], ['b', 5]]), 'project/save': ({ project }: { project: unknown }) => project, 'train/find-lr': () => curve });
    const store = createAppStore({ api });
    await store.getState().openProject('/projects/bugs');
    const s = store.getState();
    expect(s.summary?.root).toBe('/photos');
    expect(s.edits).toEqual(saved.edits);
    expect(s.lr.chosen).toBe(0.002);
    expect(s.restoredRunDir).toBe('/projects/bugs/runs/r1');
    expect(s.step).toBe('review');
    expect(trainReady(s)).toBe(true);

    // The finder draws its curve but keeps the rate the user had chosen.
    await store.getState().findLearningRate();
    expect(store.getState().lr.curve).not.toBeNull();
    expect(store.getState().lr.chosen).toBe(0.002);

    // New runs go inside the project.
    void store.getState().startTraining();
    expect(calls.find((c) => c.name === 'train/run')?.args).toMatchObject({ out: expect.stringMatching(/^\/projects\/bugs\/runs\/\d{4}-/), lr: 0.002, edits: saved.edits });
  });
});

describe('renderer step ticks', () => {
  it('ticks Review only once the current model was reviewed there, and forgets it for a new model', async () => {
    const interpretation = { classes: ['a', 'b'], accuracy: 0.9, predictions: [], perClass: [], mostConfused: [], topLosses: [], uncertain: [], confusion: [[1, 0], [0, 1]] };
    const { api } = fakeApi({ 'review/evaluate': () => interpretation, 'project/save': ({ project }: { project: unknown }) => project });
    const store = createAppStore({ api });
    store.setState({ restoredRunDir: '/runs/r1' });
    // A trained model makes Review reachable, but nobody has looked at it yet.
    expect(reviewReady(store.getState())).toBe(true);
    expect(reviewDone(store.getState())).toBe(false);
    await store.getState().evaluateRun();
    expect(reviewDone(store.getState())).toBe(true);
    store.setState({ restoredRunDir: '/runs/r2' });
    expect(reviewDone(store.getState())).toBe(false);
  });
});

describe('learning-rate warning', () => {
  it('warns gently about rates far below or past the curve, and stays quiet near the suggestion', () => {
    expect(rateWarning(curve, 0.003)).toBeNull();
    expect(rateWarning(curve, 0.005)).toBeNull();
    expect(rateWarning(curve, null)).toBeNull();
    // Where the curve is still flat (0.7 -> 0.69), 30x below the suggestion.
    expect(rateWarning(curve, 1e-4)).toMatch(/^This rate is very small \(30 times below the suggestion\): .*training will barely move/);
    expect(rateWarning(curve, 1e-5)).toContain('over 100 times below');
    // Past the lowest point (0.01), where the loss shoots up.
    expect(rateWarning(curve, 0.05)).toMatch(/^This rate is very large: .*training may jump around or fall apart/);
  });
});

describe('renderer formatting', () => {
  it('never rounds an imperfect agreement up to 100%', () => {
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.9996)).toBe('99.9%');
    expect(formatPercent(152 / 153)).toBe('99.3%');
    expect(formatPercent(0.5)).toBe('50%');
  });

  it('labels the loss axis with round numbers that cover the curve', () => {
    expect(niceTicks([0.31, 1.03])).toEqual([0.2, 0.4, 0.6, 0.8, 1, 1.2]);
    expect(niceTicks([0.05, 0.3])).toEqual([0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
  });

  it('writes rates and paths the way people read them', () => {
    expect(formatRate(0.0034)).toBe('0.0034');
    expect(formatRate(0.003)).toBe('0.003');
    expect(formatRate(0.00281)).toBe('0.0028');
    expect(formatRate(0.00014)).toBe('0.00014');
    expect(formatRate(0.1)).toBe('0.1');
    expect(formatRate(3.2)).toBe('3.2');
    // Very small rates stay scientific: 0.0000014 is hard to count.
    expect(formatRate(1.4e-6)).toBe('1.4e-6');
    expect(formatRate(1e-7)).toBe('1e-7');
    expect(joinPath('/runs/r1/', 'export-tfjs')).toBe('/runs/r1/export-tfjs');
    expect(joinPath('C:\\runs\\r1', 'a/b')).toBe('C:\\runs\\r1\\a\\b');
  });
});

describe('two stores', () => {
  it('cancel only their own jobs (each store keeps its own cancel handles)', async () => {
    const never = () => new Promise(() => undefined);
    const a = fakeApi({ 'dataset/scan': never });
    const b = fakeApi({ 'dataset/scan': never });
    const first = createAppStore({ api: a.api });
    const second = createAppStore({ api: b.api });
    void first.getState().scanFolder('/photos/a');
    void second.getState().scanFolder('/photos/b');
    second.getState().cancelScan();
    expect(b.cancelled).toEqual([b.calls[0]!.job]);
    expect(a.cancelled).toEqual([]);
  });
});
