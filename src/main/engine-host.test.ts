import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, createPortPair, serveRpc, type PortLike, type ServerHandlers } from '../shared/rpc';
import type { BackendInfo } from '../shared/types';
import { EngineHost, type EngineStatus, type ForkedEngine } from './engine-host';

const info: BackendInfo = { name: 'wasm', gradients: 'cpu', badge: 'WASM', reasons: [], threads: 2 };

type Behaviour = 'ok' | 'silent' | 'exit-at-start' | 'broken';

/** A pretend utility process: an rpc server over in-memory ports that can crash on demand. */
function fakeEngine(behaviour: Behaviour, handlers: Partial<ServerHandlers> = {}) {
  const exitListeners: ((code: number | null) => void)[] = [];
  const ports: PortLike[] = [];
  let alive = true;
  const serve = (): PortLike => {
    const [engineEnd, mainEnd] = createPortPair();
    ports.push(engineEnd);
    if (behaviour === 'ok') serveRpc(engineEnd, { 'engine/info': async () => info, ...handlers });
    if (behaviour === 'broken') serveRpc(engineEnd, { 'engine/info': async () => { throw new Error('no backend could load'); } });
    return mainEnd;
  };
  const exit = (code: number | null) => {
    if (!alive) return;
    alive = false;
    ports.forEach((p) => p.close?.()); // a dead process closes its ports
    exitListeners.forEach((l) => l(code));
  };
  const forked: ForkedEngine<PortLike> = {
    control: serve(),
    openChannel: serve,
    onExit: (l) => exitListeners.push(l),
    kill: () => queueMicrotask(() => exit(null)),
  };
  if (behaviour === 'exit-at-start') queueMicrotask(() => exit(1));
  return { forked, crash: (code = 134) => exit(code), get alive() { return alive; } };
}

let statuses: EngineStatus[];
beforeEach(() => {
  vi.useFakeTimers();
  statuses = [];
});
afterEach(() => vi.useRealTimers());

function hostWith(behaviours: Behaviour[], handlers?: Partial<ServerHandlers>) {
  const engines: ReturnType<typeof fakeEngine>[] = [];
  const fork = vi.fn(() => {
    const engine = fakeEngine(behaviours[Math.min(engines.length, behaviours.length - 1)]!, handlers);
    engines.push(engine);
    return engine.forked;
  });
  const host = new EngineHost({ fork, handshakeMs: 1_000, initialDelayMs: 100, maxDelayMs: 400, maxCrashes: 3, crashWindowMs: 60_000, now: () => Date.now() });
  host.onStatus((s) => statuses.push(s));
  return { host, fork, engines };
}

describe('EngineHost', () => {
  it('is ready after the handshake and hands out working channels for windows', async () => {
    const { host } = hostWith(['ok'], { 'project/recent': async () => [] });
    expect(host.openChannel()).toBeNull(); // nothing to talk to before start
    const status = await host.start();
    expect(status).toMatchObject({ state: 'ready', info });
    const window = createClient(host.openChannel()!);
    expect(await window.call('project/recent', {})).toEqual([]);
  });

  it('gives up the start attempt when the engine does not answer in time, then restarts it', async () => {
    const { host, fork, engines } = hostWith(['silent', 'ok']);
    const first = host.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(statuses.at(-1)?.state).toBe('starting');
    await vi.advanceTimersByTimeAsync(1);
    expect(await first).toMatchObject({ state: 'restarting', message: expect.stringContaining('did not answer within 1 s') });
    await vi.advanceTimersByTimeAsync(0);
    expect(engines[0]!.alive).toBe(false); // the hung engine is killed, not left behind
    await vi.advanceTimersByTimeAsync(100);
    expect(fork).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(host.status.state).toBe('ready');
    expect(host.status.message).toMatch(/restarted.*safe/);
  });

  it('restarts after a crash with a visible notice and doubling delays', async () => {
    const { host, fork, engines } = hostWith(['ok']);
    await host.start();
    const lost = createClient(host.openChannel()!);
    engines[0]!.crash(134);
    expect(host.status).toMatchObject({ state: 'restarting', message: expect.stringContaining('exit code 134') });
    await expect(lost.call('engine/info', {})).rejects.toMatchObject({ name: 'engine/died' });
    expect(host.openChannel()).toBeNull();
    await vi.advanceTimersByTimeAsync(100);
    expect(host.status.state).toBe('ready');

    engines[1]!.crash();
    await vi.advanceTimersByTimeAsync(199);
    expect(fork).toHaveBeenCalledTimes(2); // second crash waits twice as long
    await vi.advanceTimersByTimeAsync(1);
    expect(fork).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(0);
    expect(host.status.state).toBe('ready');
    expect(await createClient(host.openChannel()!).call('engine/info', {})).toEqual(info);
  });

  it('stops restarting after a crash loop and says so, until asked to retry', async () => {
    const { host, fork } = hostWith(['exit-at-start', 'exit-at-start', 'exit-at-start', 'exit-at-start', 'ok']);
    await host.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fork).toHaveBeenCalledTimes(4); // 1 start + 3 restarts, then the 4th crash is one too many
    expect(host.status.state).toBe('failed');
    expect(host.status.message).toContain('will not restart it by itself');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fork).toHaveBeenCalledTimes(4);
    expect(await host.retry()).toMatchObject({ state: 'ready' });
  });

  it('treats an engine that answers the handshake with an error as a crash', async () => {
    const { host, engines } = hostWith(['broken', 'ok']);
    expect(await host.start()).toMatchObject({ state: 'restarting', message: expect.stringContaining('no backend could load') });
    await vi.advanceTimersByTimeAsync(0);
    expect(engines[0]!.alive).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(host.status.state).toBe('ready');
  });

  it('kills the engine on stop and does not restart it', async () => {
    const { host, fork, engines } = hostWith(['ok']);
    await host.start();
    host.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(engines[0]!.alive).toBe(false);
    expect(fork).toHaveBeenCalledTimes(1);
    expect(host.status.state).toBe('stopped');
  });

  it('does not restart when quit comes while a restart is pending', async () => {
    const { host, fork, engines } = hostWith(['ok']);
    await host.start();
    engines[0]!.crash();
    host.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fork).toHaveBeenCalledTimes(1);
  });
});
