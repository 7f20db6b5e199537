import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { createClient, createPortPair, type EmitterMessagePort, type ServerHandlers } from '../shared/rpc';

// The real service loads TensorFlow; the entry's job is only to wire ports to whatever service it gets.
vi.mock('./service', () => ({ createService: () => ({}) }));
const { attachEngine, CONNECT_MESSAGE } = await import('./entry');

/** Shaped like Electron's MessagePortMain: an emitter of { data } events with start/close. */
function emitterPort(): [EmitterMessagePort, ReturnType<typeof createPortPair>[1]] {
  const [inner, outer] = createPortPair();
  const emitter = new EventEmitter();
  let started = false;
  const queued: unknown[] = [];
  inner.onMessage((data) => (started ? emitter.emit('message', { data }) : queued.push(data)));
  inner.onClose!(() => emitter.emit('close'));
  const port = Object.assign(emitter, {
    postMessage: (m: unknown) => inner.postMessage(m),
    start() {
      started = true;
      queued.splice(0).forEach((data) => emitter.emit('message', { data }));
    },
    close: () => inner.close(),
  });
  return [port as unknown as EmitterMessagePort, outer];
}

let scansAborted = 0;
const handlers: Partial<ServerHandlers> = {
  'project/recent': async () => [{ dir: '/p', name: 'p', updatedAt: 'now' }],
  'dataset/scan': (_args, { signal }) =>
    new Promise((_, reject) =>
      signal.addEventListener('abort', () => {
        scansAborted++;
        reject(Object.assign(new Error('stop'), { name: 'AbortError' }));
      }),
    ),
};

describe('engine entry', () => {
  it('serves every port main connects, and ignores other messages', async () => {
    const parent = new EventEmitter();
    const engine = attachEngine(parent as never, handlers);
    const [enginePort, windowPort] = emitterPort();
    const [strayPort] = emitterPort();
    parent.emit('message', { data: { type: 'something-else' }, ports: [strayPort] });
    expect(engine.connections()).toBe(0);
    parent.emit('message', { data: { type: CONNECT_MESSAGE }, ports: [enginePort] });
    expect(engine.connections()).toBe(1);
    expect(await createClient(windowPort).call('project/recent', {})).toEqual([{ dir: '/p', name: 'p', updatedAt: 'now' }]);
  });

  it("stops a closed window's calls and forgets its port", async () => {
    const parent = new EventEmitter();
    const engine = attachEngine(parent as never, handlers);
    const [enginePort, windowPort] = emitterPort();
    parent.emit('message', { data: { type: CONNECT_MESSAGE }, ports: [enginePort] });
    const scan = createClient(windowPort).call('dataset/scan', { root: '/photos' });
    await new Promise((r) => setTimeout(r, 5));
    windowPort.close();
    await expect(scan).rejects.toMatchObject({ name: 'engine/died' });
    expect(scansAborted).toBe(1); // the scan in the engine was told to stop
    expect(engine.connections()).toBe(0);
  });
});
