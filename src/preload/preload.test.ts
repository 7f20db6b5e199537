// The real preload (src/preload/index.ts) against a stand-in for electron's renderer modules and a
// real engine wired with the engine entry's attachEngine, over Node's web-compatible MessageChannel.
// Electron itself cannot run here; this checks everything on our side of its API.
import { EventEmitter } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import type { DesktopBridge } from '../shared/contract';
import { appApiFromBridge, EngineError, type EmitterMessagePort, type ServerHandlers } from '../shared/rpc';
import type { EngineStatus } from '../shared/engine-host';
import { CHANNELS } from './channels';

const exposed = new Map<string, unknown>();
const ipc = new EventEmitter();
const sent: unknown[][] = [];
const invoked: unknown[][] = [];

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
  ipcRenderer: {
    on: (channel: string, listener: (...args: unknown[]) => void) => ipc.on(channel, listener),
    send: (...args: unknown[]) => sent.push(args),
    invoke: async (...args: unknown[]) => (invoked.push(args), args[0] === CHANNELS.pickFolder ? '/home/me/photos' : true),
  },
  webUtils: { getPathForFile: (file: { path?: string }) => file.path ?? '' },
}));
vi.mock('../engine/service', () => ({ createService: () => ({}) }));

/** Node's MessagePort emits the value itself; Electron's MessagePortMain emits { data }. */
function asMainPort(port: import('node:worker_threads').MessagePort): EmitterMessagePort {
  const events = new EventEmitter();
  port.on('message', (data) => events.emit('message', { data }));
  port.on('close', () => events.emit('close'));
  return Object.assign(events, { postMessage: (m: unknown) => port.postMessage(m), start: () => port.start(), close: () => port.close() }) as never;
}

async function engineWith(handlers: Partial<ServerHandlers>) {
  const { attachEngine, CONNECT_MESSAGE } = await import('../engine/entry');
  const parent = new EventEmitter();
  attachEngine(parent as never, handlers);
  const { port1, port2 } = new MessageChannel();
  parent.emit('message', { data: { type: CONNECT_MESSAGE }, ports: [asMainPort(port1)] });
  return port2; // what main would hand the window
}

describe('preload', () => {
  it('exposes only window.foldwise, asks main for a port, and talks to the engine through it', async () => {
    await import('./index');
    expect([...exposed.keys()]).toEqual(['foldwise']);
    expect(sent).toEqual([[CHANNELS.hello]]);
    const bridge = exposed.get('foldwise') as DesktopBridge;
    expect(Object.keys(bridge).sort()).toEqual(['call', 'cancel', 'imageUrl', 'on', 'pathForFile', 'pickFolder', 'shell', 'showInFolder']);
    const api = appApiFromBridge(bridge);

    const recent = api.call('project/recent', {}); // before the port: waits for it
    const port = await engineWith({
      'project/recent': async () => [{ dir: '/p', name: 'p', updatedAt: 't' }],
      'project/open': async () => { throw new EngineError('project/corrupt', '/p/project.json is damaged'); },
    });
    ipc.emit(CHANNELS.enginePort, { ports: [port] });
    expect(await recent).toEqual([{ dir: '/p', name: 'p', updatedAt: 't' }]);
    await expect(api.call('project/open', { dir: '/p' })).rejects.toMatchObject({ name: 'project/corrupt' });

    expect(await api.pickFolder()).toBe('/home/me/photos');
    expect(await api.showInFolder('/home/me/photos/a.jpg')).toBe(true);
    expect(invoked).toEqual([[CHANNELS.pickFolder], [CHANNELS.showInFolder, '/home/me/photos/a.jpg']]);
    expect(api.pathForFile({ path: '/home/me/drop.jpg' } as unknown as File)).toBe('/home/me/drop.jpg');
    expect(api.pathForFile({} as File)).toBeNull();
    expect(api.imageUrl('ab12')).toBe('foldwise://image/ab12');

    // main reports a crash: the app hears it as a notice, and the next engine's port takes over
    const notices: string[] = [];
    api.on('engine/notice', (n) => notices.push(`${n.level}: ${n.message}`));
    const lost: EngineStatus = { state: 'restarting', message: 'The engine stopped unexpectedly (exit code 134). Restarting it…' };
    ipc.emit(CHANNELS.engineStatus, {}, lost);
    const meanwhile = api.call('project/recent', {});
    ipc.emit(CHANNELS.engineStatus, {}, { state: 'ready', message: 'The engine restarted.' } satisfies EngineStatus);
    ipc.emit(CHANNELS.enginePort, { ports: [await engineWith({ 'project/recent': async () => [] })] });
    expect(await meanwhile).toEqual([]);
    expect(notices).toEqual(['warning: The engine stopped unexpectedly (exit code 134). Restarting it…', 'info: The engine restarted.']);

    // File > Open Folder… in main: the app hears the folder as an event; anything but a path is dropped
    const opened: string[] = [];
    api.on('app/open-folder', ({ root }) => opened.push(root));
    ipc.emit(CHANNELS.openFolder, {}, '/home/me/bees');
    ipc.emit(CHANNELS.openFolder, {}, '');
    ipc.emit(CHANNELS.openFolder, {}, { root: '/not/a/string' });
    expect(opened).toEqual(['/home/me/bees']);
  });
});
