import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../shared/rpc';
import { forkEngine, type EngineHost } from './engine-process';

const fixture = path.join(__dirname, 'engine-child.fixture.ts');
let host: EngineHost | null = null;
const start = () => (host = forkEngine(fixture, [], { execArgv: ['--import', 'tsx'] }));

afterEach(async () => {
  await host?.close();
  host = null;
});

describe('the engine child process of foldwise serve', () => {
  it('answers each connection separately, in another process', async () => {
    const engine = start();
    const a = createClient(engine.connect());
    const b = createClient(engine.connect());
    const [infoA, infoB] = await Promise.all([a.call('engine/info', {}), b.call('engine/info', {})]);
    expect(infoA.reasons[0]).toMatch(/^pid \d+$/);
    expect(infoA.reasons[0]).not.toBe(`pid ${process.pid}`);
    expect(infoB).toEqual(infoA);
  });

  it('keeps this process responsive while the engine blocks its own thread', async () => {
    const client = createClient(start().connect());
    await client.call('engine/info', {}); // started
    const busy = client.call('dataset/browse', { dir: '/x' });
    // Timers here keep firing while the child spins for 1.5 s.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    await busy;
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it('closes the connections of a crashed engine, and the next connection gets a fresh one', async () => {
    const engine = start();
    const first = engine.connect();
    const client = createClient(first);
    const before = await client.call('engine/info', {});
    let closed = false;
    first.onClose?.(() => (closed = true));
    await expect(client.call('project/recent', {})).rejects.toMatchObject({ name: 'engine/died' });
    expect(closed).toBe(true);
    const after = await createClient(engine.connect()).call('engine/info', {});
    expect(after.reasons[0]).not.toBe(before.reasons[0]);
  });
});
