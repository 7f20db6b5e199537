import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient, createPortPair, serveRpc, type CallContext, type EngineClient } from '../shared/rpc';
import type { Prediction } from '../shared/types';
import { runJob } from './job';

const rows: Prediction[] = [{ file: 'a.jpg', label: 'cat', probabilities: { cat: 0.9, dog: 0.1 } }];

/** A real rpc engine whose one call waits until `finish` is called or the caller cancels. */
function fakeEngine() {
  let started!: (ctx: CallContext) => void;
  const running = new Promise<CallContext>((resolve) => (started = resolve));
  let finish!: (outcome: Prediction[] | Error) => void;
  const [enginePort, clientPort] = createPortPair();
  serveRpc(enginePort, {
    'model/predict': (_args, ctx) =>
      new Promise((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(new Error('stopped')));
        finish = (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome));
        started(ctx);
      }),
  });
  const client: EngineClient = createClient(clientPort);
  return { client, running, finish: (outcome: Prediction[] | Error) => finish(outcome) };
}

// A broken cancel would leave the call waiting forever: fail in seconds instead.
describe('runJob', { timeout: 10_000 }, () => {
  let stdout: string;
  let stderr: string;
  beforeEach(() => {
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    process.exitCode = undefined;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('cancels the engine call on Ctrl-C, says so in one line and exits 1', async () => {
    const { client, running } = fakeEngine();
    const job = runJob(client, client.call('model/predict', { model: 'm', files: [] }), { json: false, format: () => 'not printed' });
    const ctx = await running;
    expect(process.listenerCount('SIGINT')).toBe(1);
    process.emit('SIGINT');
    expect(await job).toBeUndefined();
    expect(ctx.signal.aborted).toBe(true);
    expect(stderr).toBe('foldwise: Cancelled.\n');
    expect(stdout).toBe('');
    expect(process.exitCode).toBe(1);
    // The handler is gone, so a second Ctrl-C after the job would quit as usual.
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('with --json, a cancelled call prints one JSON error object', async () => {
    const { client, running } = fakeEngine();
    const job = runJob(client, client.call('model/predict', { model: 'm', files: [] }), { json: true, format: () => 'not printed' });
    await running;
    process.emit('SIGINT');
    await job;
    expect(JSON.parse(stdout)).toEqual({ error: { name: 'job/cancelled', message: 'Cancelled.' } });
    expect(process.exitCode).toBe(1);
  });

  it('prints the result with the formatter, or as JSON with --json, and leaves the exit code alone', async () => {
    for (const json of [false, true]) {
      stdout = '';
      const { client, running, finish } = fakeEngine();
      const job = runJob(client, client.call('model/predict', { model: 'm', files: ['a.jpg'] }), { json, format: (r) => `${r.length} row: ${r[0]!.label}\n` });
      await running;
      finish(rows);
      expect(await job).toEqual(rows);
      expect(json ? JSON.parse(stdout) : stdout).toEqual(json ? rows : '1 row: cat\n');
    }
    expect(stderr).toBe('');
    expect(process.exitCode).toBeUndefined();
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('reports an engine error as a sentence with exit code 1', async () => {
    const { client, running, finish } = fakeEngine();
    const job = runJob(client, client.call('model/predict', { model: 'm', files: [] }), { json: false, format: () => 'not printed' });
    await running;
    finish(new Error('There is no model at m.'));
    expect(await job).toBeUndefined();
    expect(stderr).toBe('foldwise: There is no model at m.\n');
    expect(process.exitCode).toBe(1);
  });

  it('leaves Ctrl-C to Node when the call cannot be cancelled', async () => {
    const { client, running, finish } = fakeEngine();
    const job = runJob(client, client.call('model/predict', { model: 'm', files: [] }), { json: false, format: () => '', cancelOnInterrupt: false });
    await running;
    expect(process.listenerCount('SIGINT')).toBe(0);
    finish(rows);
    expect(await job).toEqual(rows);
  });
});
