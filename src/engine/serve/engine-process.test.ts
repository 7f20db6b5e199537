import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EngineHostOptions } from '../../shared/engine-host';
import { createClient, createPortPair } from '../../shared/rpc';
import type { Notice } from '../../shared/types';
import { forkEngine } from './engine-process';
import type { EnginePort, ServeEngine } from './engine-relay';
import { startServer, type ServeHandle } from './server';
import { wsServerPort } from './ws-port';

const fixture = path.join(__dirname, 'engine-child.fixture.ts');
let engine: ServeEngine | null = null;
let server: ServeHandle | null = null;
let tmp: string | null = null;
const start = (host: Partial<EngineHostOptions<EnginePort>> = {}) =>
  (engine = forkEngine(fixture, [], { execArgv: ['--import', 'tsx'], host: { initialDelayMs: 50, ...host } }));

afterEach(async () => {
  await server?.close(); // closes its engine too
  if (!server) await engine?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  server = engine = tmp = null;
});

/** A page on an in-memory port: its rpc client and the notices it was shown. */
function tab(on: ServeEngine) {
  const [serverSide, pageSide] = createPortPair();
  on.attach(serverSide);
  const client = createClient(pageSide);
  const notices: Notice[] = [];
  client.on('engine/notice', (n) => notices.push(n));
  return { client, notices };
}

/** A browser tab of a real `foldwise serve`: a WebSocket with the token, its rpc client and its notices. */
async function browserTab(handle: ServeHandle) {
  const socket = new WebSocket(`ws://127.0.0.1:${handle.port}/rpc?token=${handle.token}`);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const client = createClient(wsServerPort(socket));
  const notices: Notice[] = [];
  client.on('engine/notice', (n) => notices.push(n));
  return { socket, client, notices };
}

async function until(check: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the engine child process of foldwise serve', () => {
  it('answers each page separately, in another process', async () => {
    const serve = start();
    const a = tab(serve).client;
    const b = tab(serve).client;
    const [infoA, infoB] = await Promise.all([a.call('engine/info', {}), b.call('engine/info', {})]);
    expect(infoA.reasons[0]).toMatch(/^pid \d+$/);
    expect(infoA.reasons[0]).not.toBe(`pid ${process.pid}`);
    expect(infoB).toEqual(infoA);
  });

  it('keeps this process responsive while the engine blocks its own thread', async () => {
    const { client } = tab(start());
    await client.call('engine/info', {}); // started
    const busy = client.call('dataset/browse', { dir: '/x' });
    // Timers here keep firing while the child spins for 1.5 s.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    await busy;
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it('restarts a crashed engine behind an open page: its pending call fails with the crash notice, then it and a new page use the new engine', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-serve-crash-'));
    server = await startServer({ port: 0, staticDir: tmp, cacheRoot: tmp, uploadDir: tmp, imageFile: () => null, engine: start() });
    const page = await browserTab(server);
    const before = await page.client.call('engine/info', {});

    // 'project/recent' makes the fixture exit with code 3
    await expect(page.client.call('project/recent', {})).rejects.toMatchObject({ name: 'engine/died', message: expect.stringContaining('exit code 3') });
    const meanwhile = page.client.call('engine/info', {}); // made while the engine restarts: waits for the new one
    expect((await meanwhile).reasons[0]).not.toBe(before.reasons[0]);
    expect(page.notices).toEqual([
      { level: 'warning', message: expect.stringMatching(/stopped unexpectedly \(exit code 3\)\. Restarting it… Your saved project and finished runs are safe/) },
      { level: 'info', message: expect.stringMatching(/restarted.*safe/) },
    ]);
    expect(page.socket.readyState).toBe(WebSocket.OPEN); // no reload needed

    const reloaded = await browserTab(server);
    expect(await reloaded.client.call('engine/info', {})).toEqual(await meanwhile);
    expect(reloaded.notices).toEqual([]); // a page that lost nothing is told nothing
    page.socket.close();
    reloaded.socket.close();
  });

  it('kills and restarts an engine that stops answering the watchdog, and says so', async () => {
    const { client, notices } = tab(start({ pingEveryMs: 100, hangAfterMs: 500 }));
    const before = await client.call('engine/info', {});
    // The fixture spins for 1.5 s: past the 0.5 s limit, so the watchdog takes it for a hang.
    await expect(client.call('dataset/browse', { dir: '/x' })).rejects.toMatchObject({ name: 'engine/died', message: expect.stringContaining('stopped answering') });
    const after = await client.call('engine/info', {});
    expect(after.reasons[0]).not.toBe(before.reasons[0]);
    await until(() => notices.length === 2);
    expect(notices.map((n) => n.level)).toEqual(['warning', 'info']);
  });

  it('stops the child on close', async () => {
    const serve = start();
    const info = await tab(serve).client.call('engine/info', {});
    const pid = Number(info.reasons[0]!.slice('pid '.length));
    await serve.close();
    expect(() => process.kill(pid, 0)).toThrow(); // gone
    engine = null;
  });
});
