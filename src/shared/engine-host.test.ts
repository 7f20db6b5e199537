import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, createPortPair, serveRpc, type PortLike, type ServerHandlers } from './rpc';
import type { BackendInfo } from './types';
import { EngineHost, engineNotices, type EngineStatus, type ForkedEngine } from './engine-host';

const info: BackendInfo = { name: 'wasm', gradients: 'cpu', badge: 'WASM', reasons: [], threads: 2 };

type Behaviour = 'ok' | 'silent' | 'exit-at-start' | 'broken';

/** A pretend utility process: an rpc server over in-memory ports that can crash on demand. */
function fakeEngine(behaviour: Behaviour, handlers: Partial<ServerHandlers> = {}) {
  const exitListeners: ((code: number | null) => void)[] = [];
  const ports: PortLike[] = [];
  let alive = true;
  // How long 'engine/info' takes: 0, some ms (a busy engine), or forever (stuck in a native call).
  let answerAfterMs = 0;
  const answer = async () => {
    if (answerAfterMs === Infinity) return new Promise<never>(() => undefined);
    if (answerAfterMs > 0) await new Promise((r) => setTimeout(r, answerAfterMs)); // (fake timers: only when asked for)
    return info;
  };
  const serve = (): PortLike => {
    const [engineEnd, mainEnd] = createPortPair();
    ports.push(engineEnd);
    if (behaviour === 'ok') serveRpc(engineEnd, { 'engine/info': answer, ...handlers });
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
  return {
    forked,
    crash: (code = 134) => exit(code),
    hang: () => void (answerAfterMs = Infinity),
    answerAfter: (ms: number) => void (answerAfterMs = ms),
    get alive() { return alive; },
  };
}

let statuses: EngineStatus[];
beforeEach(() => {
  vi.useFakeTimers();
  statuses = [];
});
afterEach(() => vi.useRealTimers());

function hostWith(behaviours: Behaviour[], handlers?: Partial<ServerHandlers>, watchdog: { pingEveryMs?: number; hangAfterMs?: number } = {}) {
  const engines: ReturnType<typeof fakeEngine>[] = [];
  const fork = vi.fn(() => {
    const engine = fakeEngine(behaviours[Math.min(engines.length, behaviours.length - 1)]!, handlers);
    engines.push(engine);
    return engine.forked;
  });
  const host = new EngineHost({ fork, handshakeMs: 1_000, initialDelayMs: 100, maxDelayMs: 400, maxCrashes: 3, crashWindowMs: 60_000, now: () => Date.now(), ...watchdog });
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

  it('resolves stop only once the killed engine has exited', async () => {
    const { host, engines } = hostWith(['ok']);
    await host.start();
    let stopped = false;
    void host.stop().then(() => (stopped = true));
    expect(engines[0]!.alive).toBe(true); // the fake exits a microtask after kill
    await vi.advanceTimersByTimeAsync(0);
    expect(engines[0]!.alive).toBe(false);
    expect(stopped).toBe(true);
  });

  it('says what to do after a crash loop in the words its host gives', async () => {
    const engines: ReturnType<typeof fakeEngine>[] = [];
    const fork = () => (engines.push(fakeEngine('exit-at-start')), engines.at(-1)!.forked);
    const host = new EngineHost({ fork, initialDelayMs: 10, maxCrashes: 0, howToRetry: 'reload this page to start it again' });
    await host.start();
    expect(host.status).toMatchObject({ state: 'failed', message: expect.stringContaining('Your saved project is safe; reload this page to start it again') });
  });

  it('does not restart when quit comes while a restart is pending', async () => {
    const { host, fork, engines } = hostWith(['ok']);
    await host.start();
    engines[0]!.crash();
    host.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fork).toHaveBeenCalledTimes(1);
  });

  describe('watchdog', () => {
    const watchdog = { pingEveryMs: 1_000, hangAfterMs: 5_000 };

    it('kills an engine that stops answering and restarts it with the same notice as a crash', async () => {
      const { host, fork, engines } = hostWith(['ok'], undefined, watchdog);
      await host.start();
      const window = createClient(host.openChannel()!);
      await vi.advanceTimersByTimeAsync(20_000); // a healthy engine answers every ping
      expect(fork).toHaveBeenCalledTimes(1);
      expect(host.status.state).toBe('ready');

      engines[0]!.hang();
      await vi.advanceTimersByTimeAsync(1_000 + 4_999); // next ping, then just short of the limit
      expect(host.status.state).toBe('ready');
      await vi.advanceTimersByTimeAsync(1);
      expect(host.status).toMatchObject({ state: 'restarting', message: expect.stringMatching(/stopped answering for 5 s.*Restarting it… Your saved project and finished runs are safe/) });
      await vi.advanceTimersByTimeAsync(0);
      expect(engines[0]!.alive).toBe(false); // killed, not left running beside the new one
      await expect(window.call('engine/info', {})).rejects.toMatchObject({ name: 'engine/died' });
      await vi.advanceTimersByTimeAsync(100);
      expect(fork).toHaveBeenCalledTimes(2);
      expect(host.status).toMatchObject({ state: 'ready', message: expect.stringMatching(/restarted.*safe/) });
      expect(statuses.map((s) => s.state)).toEqual(['starting', 'ready', 'restarting', 'restarting', 'ready']);

      // the new engine is watched too
      engines[1]!.hang();
      await vi.advanceTimersByTimeAsync(6_000);
      expect(host.status.state).toBe('restarting');
      expect(engines[1]!.alive).toBe(false);
    });

    it('leaves a busy engine alone while it still answers within the limit', async () => {
      const { host, fork, engines } = hostWith(['ok'], undefined, watchdog);
      await host.start();
      engines[0]!.answerAfter(4_900);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(fork).toHaveBeenCalledTimes(1);
      expect(engines[0]!.alive).toBe(true);
      expect(host.status.state).toBe('ready');
    });

    it('stops pinging on quit, and after a crash leaves the restart to the crash handling', async () => {
      const quitting = hostWith(['ok'], undefined, watchdog);
      await quitting.host.start();
      quitting.engines[0]!.hang();
      quitting.host.stop();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(quitting.fork).toHaveBeenCalledTimes(1);
      expect(quitting.host.status.state).toBe('stopped');

      statuses = [];
      const crashing = hostWith(['ok'], undefined, watchdog);
      await crashing.host.start();
      crashing.engines[0]!.hang();
      await vi.advanceTimersByTimeAsync(1_500); // a ping is waiting for its answer
      crashing.engines[0]!.crash(134);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(crashing.fork).toHaveBeenCalledTimes(2); // one restart, for the crash; no second one for the unanswered ping
      expect(statuses.map((s) => s.state)).toEqual(['starting', 'ready', 'restarting', 'restarting', 'ready']);
      expect(statuses.some((s) => s.message.includes('stopped answering'))).toBe(false);
      expect(statuses.at(-1)?.state).toBe('ready');
    });
  });
});

describe('engineNotices', () => {
  const follow = () => {
    const seen: string[] = [];
    const feed = engineNotices({ lost: (m) => seen.push(`lost: ${m}`), notice: (n) => seen.push(`${n.level}: ${n.message}`) });
    return { seen, feed: (...states: EngineStatus[]) => states.forEach(feed) };
  };

  it('says nothing while the engine starts for the first time', () => {
    const { seen, feed } = follow();
    feed({ state: 'starting', message: 'Starting…' }, { state: 'ready', message: 'The engine is ready.' });
    expect(seen).toEqual([]);
  });

  it('fails pending calls once per loss and shows one warning for its restart attempts, then that it is back', () => {
    const { seen, feed } = follow();
    feed(
      { state: 'ready', message: 'ready' },
      { state: 'restarting', message: 'exit 134. Restarting it… safe.' },
      { state: 'restarting', message: 'exit 134. Restarting it…' }, // the host starting the new engine
      { state: 'ready', message: 'The engine restarted.' },
      { state: 'restarting', message: 'exit 6. Restarting it… safe.' },
    );
    expect(seen).toEqual([
      'lost: exit 134. Restarting it… safe.',
      'warning: exit 134. Restarting it… safe.',
      'info: The engine restarted.',
      'lost: exit 6. Restarting it… safe.',
      'warning: exit 6. Restarting it… safe.',
    ]);
  });

  it('shows an error when the host gives up, and the recovery after a retry', () => {
    const { seen, feed } = follow();
    feed(
      { state: 'restarting', message: 'crashed. Restarting it…' },
      { state: 'failed', message: 'It stopped 6 times in a row.' },
      { state: 'starting', message: 'Starting the engine again…' },
      { state: 'ready', message: 'The engine is ready.' },
    );
    expect(seen).toEqual(['lost: crashed. Restarting it…', 'warning: crashed. Restarting it…', 'error: It stopped 6 times in a row.', 'info: The engine is ready.']);
  });
});
