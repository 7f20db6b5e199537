// The rpc over an in-memory port pair: the same code the app runs over Electron ports and a WebSocket.
import { describe, expect, it } from 'vitest';
import type { ResultOf } from './contract';
import { createClient, createPortPair, EngineError, RemoteError, serveRpc, type CallContext, type ServerHandlers } from './rpc';

function connect(handlers: Partial<ServerHandlers>) {
  const [enginePort, clientPort] = createPortPair();
  const server = serveRpc(enginePort, handlers);
  const client = createClient(clientPort);
  return { enginePort, clientPort, server, client };
}

/** The rejection of `promise`, failing the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<RemoteError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RemoteError);
    return error as RemoteError;
  }
  throw new Error('expected the call to reject, but it resolved');
}

/** Lets queued port messages (microtasks) and timers run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

const browse: ResultOf<'dataset/browse'> = { dir: '/photos', parent: '/', folders: ['cats', 'dogs'] };

describe('rpc over a port pair', () => {
  it('calls a handler with validated args and returns its result', async () => {
    const seen: unknown[] = [];
    const { client } = connect({
      'dataset/browse': async (args) => {
        seen.push(args);
        return { ...browse, dir: args.dir ?? '/' };
      },
    });
    await expect(client.call('dataset/browse', { dir: '/photos' })).resolves.toEqual(browse);
    expect(seen).toEqual([{ dir: '/photos' }]);
  });

  it('applies schema defaults to args before the handler sees them', async () => {
    let received: unknown;
    const { client } = connect({
      'train/estimate-fine-tune': async (args) => {
        received = args;
        return { seconds: 12, backend: 'cpu', message: 'About 12 seconds.' };
      },
    });
    await client.call('train/estimate-fine-tune', { root: '/photos' });
    expect(received).toMatchObject({ root: '/photos', backbone: 'mobilenet_pair', lr: 'auto', seed: 42, fineTune: 'auto' });
  });

  it('rejects a result that does not match its schema as rpc/invalid-result', async () => {
    const { client } = connect({
      'dataset/browse': async () => ({ dir: 42 }) as unknown as ResultOf<'dataset/browse'>,
    });
    const error = await rejectionOf(client.call('dataset/browse', {}));
    expect(error.name).toBe('rpc/invalid-result');
    expect(error.detail).toBeInstanceOf(Array);
  });

  it('rejects invalid args as rpc/invalid without running the handler', async () => {
    let ran = false;
    const { client } = connect({
      'dataset/scan': async () => {
        ran = true;
        throw new Error('should not run');
      },
    });
    const error = await rejectionOf(client.call('dataset/scan', { root: 7 } as never));
    expect(error.name).toBe('rpc/invalid');
    expect(error.message).toContain('root');
    expect(ran).toBe(false);
  });

  it('rejects an unknown call and a known call the engine does not implement', async () => {
    const { client } = connect({});
    const unknown = await rejectionOf(client.call('dataset/nope' as never, {} as never));
    expect(unknown.name).toBe('rpc/unknown-call');
    expect(unknown.message).toContain('dataset/nope');
    const missing = await rejectionOf(client.call('dataset/browse', {}));
    expect(missing.name).toBe('rpc/not-available');
  });

  it('treats names inherited from Object.prototype as unknown calls', async () => {
    const { client } = connect({ 'dataset/browse': async () => browse });
    const error = await rejectionOf(client.call('toString' as never, {} as never));
    expect(error.name).toBe('rpc/unknown-call');
  });

  it('carries errors across as {name, message, detail}', async () => {
    const { client } = connect({
      'dataset/scan': async () => {
        throw new EngineError('dataset/empty', 'The folder /photos has no images.', { folder: '/photos' });
      },
      'dataset/browse': async () => {
        throw new Error('disk on fire');
      },
    });
    const named = await rejectionOf(client.call('dataset/scan', { root: '/photos' }));
    expect(named.name).toBe('dataset/empty');
    expect(named.message).toBe('The folder /photos has no images.');
    expect(named.detail).toEqual({ folder: '/photos' });
    expect(named.serialized).toEqual({ name: 'dataset/empty', message: 'The folder /photos has no images.', detail: { folder: '/photos' } });

    const plain = await rejectionOf(client.call('dataset/browse', {}));
    expect(plain.name).toBe('engine/error');
    expect(plain.message).toBe('disk on fire');
  });

  it('still answers when an error detail cannot be cloned across the port', async () => {
    const { client } = connect({
      'dataset/browse': async () => {
        throw new EngineError('dataset/odd', 'Odd folder.', { callback: () => 1 });
      },
    });
    const error = await rejectionOf(client.call('dataset/browse', {}));
    expect(error.name).toBe('dataset/odd');
    expect(error.message).toBe('Odd folder.');
  });

  it('delivers valid events and drops payloads that fail their schema', async () => {
    const { client } = connect({
      'dataset/browse': async (_args, ctx) => {
        ctx.emit('job/progress', { job: ctx.job, stage: 'scan', done: 1, total: 2 });
        ctx.emit('job/progress', { job: ctx.job, stage: 'not-a-stage', done: 'one' } as never);
        ctx.emit('engine/notice', { level: 'shout' } as never);
        ctx.emit('engine/notice', { level: 'info', message: 'hello' });
        ctx.emit('no/such-event' as never, {} as never);
        ctx.emit('constructor' as never, {} as never);
        return browse;
      },
    });
    const progress: unknown[] = [];
    const notices: unknown[] = [];
    client.on('job/progress', (p) => progress.push(p));
    const off = client.on('engine/notice', (n) => notices.push(n));
    const handle = client.call('dataset/browse', {});
    await handle;
    await settle();
    expect(progress).toEqual([{ job: handle.job, stage: 'scan', done: 1, total: 2, etaSeconds: null }]);
    expect(notices).toEqual([{ level: 'info', message: 'hello' }]);

    off();
    await client.call('dataset/browse', {});
    await settle();
    expect(notices).toHaveLength(1);
  });

  it('rate-limits progress per call at the boundary: first and last step of a burst, before the answer', async () => {
    const { client } = connect({
      'dataset/browse': async (_args, ctx) => {
        // Two stages of a thousand steps each, reported with no time between them.
        for (const stage of ['scan', 'features'] as const) for (let done = 1; done <= 1000; done++) ctx.emit('job/progress', { job: ctx.job, stage, done, total: 1000 });
        return browse;
      },
    });
    const seen: string[] = [];
    client.on('job/progress', (p) => seen.push(`${p.job} ${p.stage} ${p.done}`));
    const [a, b] = [client.call('dataset/browse', {}), client.call('dataset/browse', {})];
    const order: string[] = [];
    await Promise.all([a, b].map((h) => h.finally(() => order.push(`answer ${h.job} after ${seen.filter((e) => e.startsWith(h.job)).length} events`))));
    // Each call has its own throttle, so both calls' first steps went out.
    for (const h of [a, b]) expect(seen.filter((e) => e.startsWith(h.job))).toEqual([`${h.job} scan 1`, `${h.job} scan 1000`, `${h.job} features 1`, `${h.job} features 1000`]);
    expect(order).toEqual([`answer ${a.job} after 4 events`, `answer ${b.job} after 4 events`]);
  });

  it('cancel aborts the handler signal and rejects with job/cancelled', async () => {
    let signal: AbortSignal | null = null;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const { client } = connect({
      'train/run': (_args, ctx: CallContext) =>
        new Promise((_resolve, reject) => {
          signal = ctx.signal;
          ctx.signal.addEventListener('abort', () => reject(new Error('stopped by the user')));
          started();
        }),
    });
    const handle = client.call('train/run', { root: '/photos' });
    await running;
    expect(signal!.aborted).toBe(false);
    handle.cancel();
    const error = await rejectionOf(handle);
    expect(signal!.aborted).toBe(true);
    expect(error.name).toBe('job/cancelled');
  });

  it('an AbortError from a handler crosses as job/cancelled', async () => {
    const { client } = connect({
      'dataset/browse': async () => {
        throw Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
      },
    });
    expect((await rejectionOf(client.call('dataset/browse', {}))).name).toBe('job/cancelled');
  });

  it('rejects pending calls with engine/died when the engine port closes mid-call, and later calls at once', async () => {
    let signal: AbortSignal | null = null;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const { client, enginePort } = connect({
      'train/run': (_args, ctx) =>
        new Promise(() => {
          signal = ctx.signal;
          started();
        }),
    });
    const handle = client.call('train/run', { root: '/photos' });
    await running;
    enginePort.close();
    const error = await rejectionOf(handle);
    expect(error.name).toBe('engine/died');
    // The engine side notices too, so a long job stops instead of running for nobody.
    expect(signal!.aborted).toBe(true);
    expect((await rejectionOf(client.call('dataset/browse', {}))).name).toBe('engine/died');
  });

  it('client.close rejects pending calls with the given reason', async () => {
    const { client } = connect({ 'train/run': () => new Promise(() => undefined) });
    const handle = client.call('train/run', { root: '/photos' });
    client.close('Engine restarted.');
    const error = await rejectionOf(handle);
    expect(error.name).toBe('engine/died');
    expect(error.message).toBe('Engine restarted.');
  });

  it('keeps concurrent calls apart by id', async () => {
    const { client } = connect({
      'dataset/browse': async (args) => {
        await new Promise((r) => setTimeout(r, args.dir === 'slow' ? 30 : 1));
        return { ...browse, dir: args.dir ?? '' };
      },
    });
    const [slow, fast] = await Promise.all([client.call('dataset/browse', { dir: 'slow' }), client.call('dataset/browse', { dir: 'fast' })]);
    expect(slow.dir).toBe('slow');
    expect(fast.dir).toBe('fast');
  });

  it('ignores messages that are not rpc envelopes', async () => {
    const { client, enginePort, clientPort } = connect({ 'dataset/browse': async () => browse });
    enginePort.postMessage('garbage');
    enginePort.postMessage({ t: 'result', id: 'nobody', value: 1 });
    clientPort.postMessage({ t: 'call', id: 1 });
    await settle();
    await expect(client.call('dataset/browse', {})).resolves.toEqual(browse);
  });
});
