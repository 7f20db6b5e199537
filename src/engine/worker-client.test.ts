import { describe, expect, it } from 'vitest';
import { startWorkerClient, type WorkerEntry } from './worker-client';

type Request = { type: 'double'; id: number; values: Float32Array } | { type: 'refuse'; id: number } | { type: 'crash'; id: number } | { type: 'hang'; id: number };
type Reply = { type: 'ready' } | { type: 'doubled'; id: number; values: Float32Array } | { type: 'error'; id: number; message: string };

// A tiny worker speaking the same protocol as src/engine/worker.ts: 'ready', then one reply per request id.
const inline = (boot: string): WorkerEntry => ({
  eval: true,
  script: `
    const { parentPort, workerData } = require('node:worker_threads');
    parentPort.on('message', (msg) => {
      if (msg.type === 'double') parentPort.postMessage({ type: 'doubled', id: msg.id, values: msg.values.map((v) => v * 2) });
      if (msg.type === 'refuse') parentPort.postMessage({ type: 'error', id: msg.id, message: 'refused: ' + workerData.name });
      if (msg.type === 'crash') process.exit(3);
      // 'hang': never answers
    });
    ${boot}
  `,
});
const ready = "parentPort.postMessage({ type: 'ready' });";
const stopped = (code: number) => new Error(`the test worker stopped unexpectedly (exit code ${code})`);

describe('startWorkerClient', () => {
  it('resolves once the worker is ready, routes each reply to its request, and rejects error replies with their message', async () => {
    const client = startWorkerClient<Request, Reply>({ entry: inline(ready), workerData: { name: 'w1' }, stopped });
    try {
      await client.ready;
      const a = new Float32Array([1, 2, 3]);
      const [first, second] = await Promise.all([
        client.ask({ type: 'double', id: 1, values: a }, [a.buffer]),
        client.ask({ type: 'double', id: 2, values: new Float32Array([10]) }),
      ]);
      expect(a.length).toBe(0); // transferred, not copied
      expect(first).toMatchObject({ type: 'doubled', id: 1 });
      expect(Array.from((first as Extract<Reply, { type: 'doubled' }>).values)).toEqual([2, 4, 6]);
      expect(Array.from((second as Extract<Reply, { type: 'doubled' }>).values)).toEqual([20]);
      await expect(client.ask({ type: 'refuse', id: 3 })).rejects.toThrow('refused: w1');
      expect(client.failure).toBeNull(); // an error reply fails that request only
    } finally {
      client.terminate(new Error('closed'));
    }
  });

  it('fails the requests still waiting, and later ones, with a clear error when the worker exits', async () => {
    const client = startWorkerClient<Request, Reply>({ entry: inline(ready), workerData: { name: 'w2' }, stopped });
    await client.ready;
    const waiting = client.ask({ type: 'hang', id: 1 });
    await expect(client.ask({ type: 'crash', id: 2 })).rejects.toThrow('the test worker stopped unexpectedly (exit code 3)');
    await expect(waiting).rejects.toThrow('the test worker stopped unexpectedly (exit code 3)');
    await expect(client.ask({ type: 'double', id: 3, values: new Float32Array(1) })).rejects.toThrow(/exit code 3/);
    expect(client.failure?.message).toMatch(/exit code 3/);
  });

  it('rejects ready with the error of a worker that fails while booting', async () => {
    const client = startWorkerClient<Request, Reply>({ entry: inline("throw new Error('no backbone here');"), workerData: { name: 'w3' }, stopped });
    await expect(client.ready).rejects.toThrow('no backbone here');
    // The exit that follows the error does not replace it: later requests still say what went wrong.
    await new Promise((r) => setTimeout(r, 50));
    await expect(client.ask({ type: 'hang', id: 1 })).rejects.toThrow('no backbone here');
  });

  it('rejects ready, without throwing, when the worker cannot be started', async () => {
    const client = startWorkerClient<Request, Reply>({ entry: { script: '/nowhere/worker.js', eval: false }, workerData: {}, stopped });
    await expect(client.ready).rejects.toThrow(/nowhere/);
    await expect(client.ask({ type: 'hang', id: 1 })).rejects.toThrow(/nowhere/);
  });

  it('terminate rejects what is waiting with the given reason, also while the worker is still booting', async () => {
    const booted = startWorkerClient<Request, Reply>({ entry: inline(ready), workerData: { name: 'w4' }, stopped });
    await booted.ready;
    const waiting = booted.ask({ type: 'hang', id: 1 });
    booted.terminate(new Error('This pool was closed'));
    await expect(waiting).rejects.toThrow('This pool was closed');
    await new Promise((r) => setTimeout(r, 50)); // the exit that terminate causes is not a second failure
    expect(booted.failure?.message).toBe('This pool was closed');

    const booting = startWorkerClient<Request, Reply>({ entry: inline(`setTimeout(() => { ${ready} }, 5000);`), workerData: { name: 'w5' }, stopped });
    booting.terminate(new Error('closed before it booted'));
    await expect(booting.ready).rejects.toThrow('closed before it booted');
  });
});
