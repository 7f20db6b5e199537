// forkEngine's kill: polite first, by force when the process does not go (stuck in a native call).
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const children: (EventEmitter & { pid: number; kill: ReturnType<typeof vi.fn> })[] = [];

vi.mock('electron', () => ({
  utilityProcess: {
    fork: () => {
      const child = Object.assign(new EventEmitter(), { pid: 424242, kill: vi.fn(() => true), postMessage: () => undefined });
      children.push(child);
      return child;
    },
  },
  MessageChannelMain: class {
    port1 = Object.assign(new EventEmitter(), { postMessage: () => undefined, start: () => undefined, close: () => undefined });
    port2 = Object.assign(new EventEmitter(), { postMessage: () => undefined, start: () => undefined, close: () => undefined });
  },
}));

let signals: [number, string | number | undefined][];
beforeEach(() => {
  vi.useFakeTimers();
  children.length = 0;
  signals = [];
  vi.spyOn(process, 'kill').mockImplementation((pid, signal) => (signals.push([pid, signal]), true));
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('forkEngine', () => {
  it('kills a process that ignores the polite kill by force', async () => {
    const { forkEngine } = await import('./engine-process');
    const engine = forkEngine({ entry: '/dist/engine/entry.js', forceKillAfterMs: 2_000 });
    engine.kill();
    expect(children[0]!.kill).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1_999);
    expect(signals).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual([[424242, 'SIGKILL']]);
  });

  it('leaves a process alone that exited after the polite kill', async () => {
    const { forkEngine } = await import('./engine-process');
    const engine = forkEngine({ entry: '/dist/engine/entry.js', forceKillAfterMs: 2_000 });
    const exits: (number | null)[] = [];
    engine.onExit((code) => exits.push(code));
    engine.kill();
    children[0]!.emit('exit', 0);
    vi.advanceTimersByTime(10_000);
    expect(signals).toEqual([]);
    expect(exits).toEqual([0]);
    engine.kill(); // already gone: nothing to do
    expect(children[0]!.kill).toHaveBeenCalledTimes(1);
  });
});
