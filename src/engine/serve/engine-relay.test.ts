// serve's relay against an EngineHost whose engines are in-memory rpc servers that crash on demand.
// (engine-process.test.ts does the same with a real child process and a real WebSocket.)
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineHost, type ForkedEngine } from '../../shared/engine-host';
import { createClient, createPortPair, serveRpc, type PortLike } from '../../shared/rpc';
import type { Notice } from '../../shared/types';
import { relayPage, type EnginePort } from './engine-relay';

/** An engine whose engine/info names it, that never answers dataset/scan, and that may die at start. */
function fakeEngine(name: string, dieAtStart: boolean) {
  const exitListeners: ((code: number | null) => void)[] = [];
  const ends: (PortLike & { close(): void })[] = [];
  let alive = true;
  let aborted = 0;
  const channel = (): EnginePort => {
    const [engineEnd, hostEnd] = createPortPair();
    ends.push(engineEnd);
    serveRpc(engineEnd, {
      'engine/info': async () => ({ name: 'wasm', gradients: 'cpu', badge: 'WASM', reasons: [name], threads: 1 }),
      'dataset/scan': (_args, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => (aborted++, reject(new Error('aborted'))))),
    });
    return hostEnd;
  };
  const exit = (code: number | null) => {
    if (!alive) return;
    alive = false;
    exitListeners.splice(0).forEach((l) => l(code));
    ends.forEach((p) => p.close());
  };
  const forked: ForkedEngine<EnginePort> = {
    control: channel(),
    openChannel: channel,
    onExit: (l) => (alive ? exitListeners.push(l) : l(null)),
    kill: () => queueMicrotask(() => exit(null)),
  };
  if (dieAtStart) queueMicrotask(() => exit(1));
  return { forked, crash: (code: number) => exit(code), abortedCalls: () => aborted };
}

let engines: ReturnType<typeof fakeEngine>[];
beforeEach(() => {
  vi.useFakeTimers();
  engines = [];
});
afterEach(() => vi.useRealTimers());

/** A host whose n-th engine dies at start when `dies(n)`. */
function host(dies: (n: number) => boolean = () => false) {
  return new EngineHost<EnginePort>({
    fork: () => {
      const engine = fakeEngine(`engine ${engines.length + 1}`, dies(engines.length + 1));
      engines.push(engine);
      return engine.forked;
    },
    initialDelayMs: 100,
    maxCrashes: 2,
    howToRetry: 'reload this page to start it again',
  });
}

/** A tab attached to `on`: its client, its notices, and how to close it. */
function tab(on: EngineHost<EnginePort>) {
  const [serverSide, pageSide] = createPortPair();
  const detach = relayPage(on, serverSide);
  const client = createClient(pageSide);
  const notices: Notice[] = [];
  client.on('engine/notice', (n) => notices.push(n));
  return { client, notices, detach };
}

const nameOf = async (p: Promise<{ reasons: string[] }>) => (await p).reasons[0];

describe("serve's relay between a tab and the engine host", () => {
  it('holds calls made before the engine is ready and answers them once it is', async () => {
    const h = host();
    const page = tab(h); // attached before start, like a tab open while `foldwise serve` starts up
    const early = page.client.call('engine/info', {});
    await h.start();
    expect(await nameOf(early)).toBe('engine 1');
  });

  it('fails a pending call with the crash message, says so once, and sends later calls to the restarted engine', async () => {
    const h = host();
    await h.start();
    const page = tab(h);
    const scanning = page.client.call('dataset/scan', { root: '/photos' });
    scanning.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(0);
    engines[0]!.crash(134);
    await expect(scanning).rejects.toMatchObject({ name: 'engine/died', message: expect.stringContaining('exit code 134') });
    const meanwhile = page.client.call('engine/info', {});
    await vi.advanceTimersByTimeAsync(100);
    expect(await nameOf(meanwhile)).toBe('engine 2');
    expect(page.notices).toEqual([
      { level: 'warning', message: expect.stringMatching(/exit code 134\)\. Restarting it… Your saved project and finished runs are safe/) },
      { level: 'info', message: expect.stringMatching(/restarted/) },
    ]);
  });

  it('after a crash loop answers calls at once with the reason, and a newly opened tab starts the engine again', async () => {
    const h = host((n) => n <= 3);
    const page = tab(h);
    await h.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.status.state).toBe('failed');
    expect(page.notices.map((n) => n.level)).toEqual(['warning', 'error']);
    expect(page.notices[1]!.message).toContain('reload this page to start it again');
    await expect(page.client.call('engine/info', {})).rejects.toMatchObject({ name: 'engine/died', message: expect.stringContaining('will not restart it by itself') });

    const reloaded = tab(h);
    expect(await nameOf(reloaded.client.call('engine/info', {}))).toBe('engine 4');
    expect(await nameOf(page.client.call('engine/info', {}))).toBe('engine 4'); // the old tab is back too
    expect(page.notices.at(-1)?.level).toBe('info');
  });

  it('closes its engine connection when the tab goes, so the engine stops its running calls', async () => {
    const h = host();
    await h.start();
    const page = tab(h);
    void page.client.call('dataset/scan', { root: '/photos' }).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(0);
    expect(engines[0]!.abortedCalls()).toBe(0);
    page.detach();
    await vi.advanceTimersByTimeAsync(0);
    expect(engines[0]!.abortedCalls()).toBe(1);
  });
});
