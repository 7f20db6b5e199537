import { describe, expect, it } from 'vitest';
import type { DesktopBridge } from '../shared/contract';
import { appApiFromBridge, createPortPair, EngineError, serveRpc, type ServerHandlers } from '../shared/rpc';
import { createEngineBridge } from './bridge';

/** An engine on an in-memory port pair; returns the window's end and a way to kill it. */
function engine(handlers: Partial<ServerHandlers>) {
  const [engineEnd, windowEnd] = createPortPair();
  serveRpc(engineEnd, handlers);
  return { port: windowEnd, die: () => engineEnd.close() };
}

const never = (): Promise<never> => new Promise(() => undefined);

describe('the preload engine bridge', () => {
  it('holds calls made before the engine port arrives and answers them after', async () => {
    const bridge = createEngineBridge();
    const { job, outcome } = bridge.call('project/recent', {});
    expect(job).toMatch(/\S/);
    bridge.attach(engine({ 'project/recent': async () => [{ dir: '/a', name: 'a', updatedAt: 't' }] }).port);
    expect(await outcome).toEqual({ ok: true, value: [{ dir: '/a', name: 'a', updatedAt: 't' }] });
  });

  it('turns engine errors into outcomes that keep their name (contextBridge would drop it from an Error)', async () => {
    const bridge = createEngineBridge();
    bridge.attach(engine({ 'project/open': async ({ dir }) => { throw new EngineError('project/not-found', `${dir} is gone`); } }).port);
    expect(await bridge.call('project/open', { dir: '/x' }).outcome).toEqual({
      ok: false,
      error: { name: 'project/not-found', message: '/x is gone', detail: undefined },
    });
  });

  it('cancels a running call by its job id', async () => {
    const bridge = createEngineBridge();
    let aborted = false;
    bridge.attach(
      engine({
        'dataset/scan': (_a, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('stop'))))),
      }).port,
    );
    const { job, outcome } = bridge.call('dataset/scan', { root: '/photos' });
    await new Promise((r) => setTimeout(r, 5));
    bridge.cancel(job);
    expect(await outcome).toMatchObject({ ok: false, error: { name: 'job/cancelled' } });
    expect(aborted).toBe(true);
  });

  it('fails pending calls when the engine dies, and sends later calls to the restarted engine', async () => {
    const bridge = createEngineBridge();
    const first = engine({ 'train/run': never, 'project/recent': async () => [] });
    bridge.attach(first.port);
    const training = bridge.call('train/run', { root: '/photos' });
    await new Promise((r) => setTimeout(r, 5));
    first.die();
    expect(await training.outcome).toMatchObject({ ok: false, error: { name: 'engine/died' } });

    const later = bridge.call('project/recent', {}); // made while no engine runs
    bridge.attach(engine({ 'project/recent': async () => [{ dir: '/b', name: 'b', updatedAt: 't' }] }).port);
    expect(await later.outcome).toMatchObject({ ok: true, value: [{ name: 'b' }] });
  });

  it('fails pending calls with main\'s message when main reports the engine lost', async () => {
    const bridge = createEngineBridge();
    bridge.attach(engine({ 'train/run': never }).port);
    const training = bridge.call('train/run', { root: '/photos' });
    bridge.engineLost('The engine stopped (exit code 134). Restarting it…');
    expect(await training.outcome).toEqual({ ok: false, error: { name: 'engine/died', message: 'The engine stopped (exit code 134). Restarting it…', detail: undefined } });
  });

  it('keeps event listeners across a restart and delivers notices', async () => {
    const bridge = createEngineBridge();
    const seen: string[] = [];
    bridge.on('job/progress', (p) => seen.push(`${p.stage} ${p.done}/${p.total}`));
    const off = bridge.on('engine/notice', (n) => seen.push(`${n.level}: ${n.message}`));
    const handlers: Partial<ServerHandlers> = {
      'dataset/scan': async (_a, { job, emit }) => {
        emit('job/progress', { job, stage: 'scan', done: 1, total: 2 });
        return { root: '/p', layout: 'classes', classes: [], images: 0, problems: [], duplicates: [], warnings: [] };
      },
    };
    const first = engine(handlers);
    bridge.attach(first.port);
    await bridge.call('dataset/scan', { root: '/p' }).outcome;
    first.die();
    bridge.notice({ level: 'warning', message: 'Restarting the engine' });
    bridge.attach(engine(handlers).port);
    await bridge.call('dataset/scan', { root: '/p' }).outcome;
    off();
    bridge.notice({ level: 'info', message: 'not heard' });
    expect(seen).toEqual(['scan 1/2', 'warning: Restarting the engine', 'scan 1/2']);
  });

  it('becomes a full AppApi through appApiFromBridge', async () => {
    const bridge = createEngineBridge();
    bridge.attach(
      engine({
        'project/recent': async () => [],
        'project/open': async () => { throw new EngineError('project/corrupt', 'damaged'); },
      }).port,
    );
    const desktop: DesktopBridge = {
      ...bridge,
      shell: 'electron',
      imageUrl: (id) => `foldwise://image/${id}`,
      pickFolder: async () => null,
      showInFolder: async () => false,
      pathForFile: () => null,
    };
    const api = appApiFromBridge(desktop);
    const handle = api.call('project/recent', {});
    expect(typeof handle.job).toBe('string');
    expect(await handle).toEqual([]);
    await expect(api.call('project/open', { dir: '/x' })).rejects.toMatchObject({ name: 'project/corrupt', message: 'damaged' });
    expect(api.imageUrl('abc')).toBe('foldwise://image/abc');
  });
});
