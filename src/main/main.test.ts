// src/main/index.ts against a stand-in for electron's main-process API. The Electron binary cannot
// run here, so this checks our side: window options, blocked navigation, ipc sender checks, the
// engine's ports reaching the window, a crash notice and restart, the kill on quit, the window size.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createClient, createPortPair, type EmitterMessagePort, type PortLike } from '../shared/rpc';
import { CHANNELS } from '../preload/channels';
import type { EngineStatus } from '../shared/engine-host';

const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-main-'));
afterAll(() => fs.rmSync(userData, { recursive: true, force: true }));

/** Shaped like MessagePortMain, over an in-memory pair. */
function mainPortPair(): [EmitterMessagePort, EmitterMessagePort] {
  const [a, b] = createPortPair();
  const wrap = (inner: PortLike & { close(): void }) => {
    const events = new EventEmitter();
    inner.onMessage((data) => events.emit('message', { data }));
    inner.onClose?.(() => events.emit('close'));
    return Object.assign(events, { postMessage: (m: unknown) => inner.postMessage(m), start: () => undefined, close: () => inner.close() });
  };
  return [wrap(a) as never, wrap(b) as never];
}

const h = vi.hoisted(() => ({
  app: null as unknown as EventEmitter & Record<string, unknown>,
  ipcOn: new Map<string, (...args: unknown[]) => void>(),
  ipcHandle: new Map<string, (...args: unknown[]) => unknown>(),
  windows: [] as unknown[],
  children: [] as (EventEmitter & { killed: boolean; ports: unknown[] })[],
  schemes: [] as unknown[],
  quit: 0,
  lock: true,
  readyResolve: null as null | (() => void),
  forkEnv: {} as Record<string, string>,
  menu: null as unknown,
  dialogCanceled: false,
  dialogParents: [] as unknown[],
}));

// The real service loads TensorFlow; the fake utility process below serves a tiny one.
vi.mock('../engine/service', () => ({ createService: () => ({}) }));

vi.mock('electron', async () => {
  const { EventEmitter: Emitter } = await import('node:events');
  const { attachEngine } = await import('../engine/entry');
  const app = Object.assign(new Emitter(), {
    isPackaged: false,
    requestSingleInstanceLock: () => h.lock,
    quit: () => void h.quit++,
    getPath: () => userData,
    getAppPath: () => '/opt/foldwise',
    whenReady: () => new Promise<void>((resolve) => (h.readyResolve = resolve)),
  });
  h.app = app as never;
  class BrowserWindow extends Emitter {
    static getAllWindows = () => h.windows;
    static fromWebContents = () => h.windows[0];
    static getFocusedWindow = () => null; // the app is in the background: the menu still reaches the window
    webContents: EventEmitter & Record<string, unknown>;
    loaded: string | null = null;
    constructor(readonly options: Record<string, unknown>) {
      super();
      const contents = Object.assign(new Emitter(), {
        sent: [] as unknown[][],
        posted: [] as unknown[][],
        isDestroyed: () => false,
        send: (...args: unknown[]) => contents.sent.push(args),
        postMessage: (...args: unknown[]) => contents.posted.push(args),
        openHandler: null as unknown,
        setWindowOpenHandler: (handler: unknown) => void (contents.openHandler = handler),
      });
      this.webContents = contents as never;
      h.windows.push(this);
      app.emit('web-contents-created', {}, contents);
    }
    loadURL = async (url: string) => void (this.loaded = url);
    maximize() {}
    show() {}
    isMaximized = () => false;
    isDestroyed = () => false;
    reload = () => void this.emit('reloaded');
    getNormalBounds = () => ({ x: 10, y: 20, width: 1111, height: 777 });
  }
  const fork = (_entry: string, _args: string[], options: { env: Record<string, string> }) => {
    h.forkEnv = options.env;
    // A utility process whose engine is the real entry's attachEngine with a tiny service.
    const parent = new Emitter();
    attachEngine(parent as never, { 'engine/info': async () => ({ name: 'wasm', gradients: 'cpu', badge: 'WASM', reasons: [], threads: 1 }) });
    const child = Object.assign(new Emitter(), {
      killed: false,
      ports: [] as unknown[],
      postMessage: (data: unknown, ports: unknown[]) => parent.emit('message', { data, ports }),
      kill: () => {
        child.killed = true;
        queueMicrotask(() => child.emit('exit', 0));
        return true;
      },
    });
    h.children.push(child);
    queueMicrotask(() => child.emit('spawn'));
    return child;
  };
  return {
    app,
    BrowserWindow,
    MessageChannelMain: class {
      port1: EmitterMessagePort;
      port2: EmitterMessagePort;
      constructor() {
        [this.port1, this.port2] = mainPortPair();
      }
    },
    utilityProcess: { fork },
    ipcMain: {
      on: (channel: string, l: (...a: unknown[]) => void) => h.ipcOn.set(channel, l),
      handle: (channel: string, l: (...a: unknown[]) => unknown) => h.ipcHandle.set(channel, l),
    },
    dialog: {
      showOpenDialog: async (...args: unknown[]) => {
        h.dialogParents.push(args.length > 1 ? args[0] : null);
        return h.dialogCanceled ? { canceled: true, filePaths: [] } : { canceled: false, filePaths: ['/home/me/photos'] };
      },
      showErrorBox: () => undefined,
    },
    protocol: { registerSchemesAsPrivileged: (s: unknown[]) => h.schemes.push(...s) },
    session: {
      defaultSession: {
        protocol: { handle: () => undefined },
        setPermissionRequestHandler: () => undefined,
        setPermissionCheckHandler: () => undefined,
        webRequest: { onHeadersReceived: () => undefined },
      },
    },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    nativeTheme: { shouldUseDarkColors: false },
    Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: (menu: unknown) => void (h.menu = menu) },
    shell: { openPath: async () => '', showItemInFolder: () => undefined },
  };
});

type FakeWindow = EventEmitter & { options: { webPreferences: Record<string, unknown> }; loaded: string; webContents: EventEmitter & { sent: unknown[][]; posted: unknown[][]; openHandler: () => unknown } };
const trusted = (contents: unknown) => ({ sender: contents, senderFrame: { url: 'foldwise://app/index.html', parent: null } });
const stranger = (contents: unknown) => ({ sender: contents, senderFrame: { url: 'https://evil.example/', parent: null } });
const until = async (check: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('Electron main', () => {
  it('opens one locked-down window, hands it the engine, restarts a crashed engine, and cleans up on quit', async () => {
    const realExists = fs.existsSync;
    vi.spyOn(fs, 'existsSync').mockImplementation((p) => /[\\/](renderer[\\/]index\.html|engine[\\/]entry\.js)$/.test(String(p)) || realExists(p));
    await import('./index');
    expect(h.schemes).toEqual([{ scheme: 'foldwise', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    h.readyResolve!();
    await until(() => h.windows.length === 1 && !!(h.windows[0] as FakeWindow).loaded);
    const window = h.windows[0] as FakeWindow;
    expect(window.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false });
    expect(window.options.webPreferences.preload).toMatch(/preload[\\/]index\.js$/);
    expect(window.loaded).toBe('foldwise://app/index.html');

    // a crashed page is reloaded
    const reloaded = vi.fn();
    window.on('reloaded', reloaded);
    window.webContents.emit('render-process-gone', {}, { reason: 'crashed' });
    expect(reloaded).toHaveBeenCalledTimes(1);

    // navigation and new windows are refused
    const navigation = { preventDefault: vi.fn() };
    window.webContents.emit('will-navigate', navigation, 'https://evil.example/');
    expect(navigation.preventDefault).toHaveBeenCalled();
    expect(window.webContents.openHandler()).toEqual({ action: 'deny' });

    // ipc from anyone but our page is ignored or refused
    h.ipcOn.get(CHANNELS.hello)!(stranger(window.webContents));
    await expect(h.ipcHandle.get(CHANNELS.pickFolder)!(stranger(window.webContents))).rejects.toThrow(/Refused/);
    expect(await h.ipcHandle.get(CHANNELS.pickFolder)!(trusted(window.webContents))).toBe('/home/me/photos');
    expect(h.dialogParents).toEqual([window]); // the dialog belongs to the window that asked
    expect(await h.ipcHandle.get(CHANNELS.showInFolder)!(trusted(window.webContents), 'relative/path')).toBe(false);

    // File > Open Folder… (Ctrl/Cmd+O) shows the dialog over the window and hands the folder to its page
    type Item = { label?: string; accelerator?: string; submenu?: Item[]; click?: () => void };
    const fileMenu = (h.menu as Item[]).find((m) => m.label === '&File')!;
    const openFolder = fileMenu.submenu!.find((m) => m.label === '&Open Folder…')!;
    expect(openFolder.accelerator).toBe('CmdOrCtrl+O');
    const opened = () => window.webContents.sent.filter(([c]) => c === CHANNELS.openFolder);
    openFolder.click!();
    await until(() => opened().length === 1);
    expect(opened()).toEqual([[CHANNELS.openFolder, '/home/me/photos']]);
    expect(h.dialogParents).toEqual([window, window]);
    h.dialogCanceled = true; // cancelling the dialog sends nothing
    openFolder.click!();
    await until(() => h.dialogParents.length === 3);
    await new Promise((r) => setTimeout(r, 20));
    expect(opened()).toHaveLength(1);
    h.dialogCanceled = false;
    expect(await h.ipcHandle.get(CHANNELS.showInFolder)!(trusted(window.webContents), userData)).toBe(true);

    // our page says hello and gets a working port to the engine
    h.ipcOn.get(CHANNELS.hello)!(trusted(window.webContents));
    await until(() => window.webContents.posted.length === 1);
    const [channel, , ports] = window.webContents.posted[0] as [string, unknown, EmitterMessagePort[]];
    expect(channel).toBe(CHANNELS.enginePort);
    const toEngine = (port: EmitterMessagePort): PortLike => ({
      postMessage: (m) => port.postMessage(m),
      onMessage: (l) => (port.on('message', (e: { data: unknown }) => l(e.data)), () => undefined),
    });
    expect(await createClient(toEngine(ports[0]!)).call('engine/info', {})).toMatchObject({ badge: 'WASM' });
    expect(h.forkEnv.FOLDWISE_BUNDLED_BACKBONES).toBe(process.env.FOLDWISE_BUNDLED_BACKBONES ?? path.join('/opt/foldwise', 'assets', 'backbones'));

    // the engine crashes: the window hears why, and gets a port to the restarted engine
    h.children[0]!.emit('exit', 134);
    const statuses = () => window.webContents.sent.filter(([c]) => c === CHANNELS.engineStatus).map(([, s]) => s as EngineStatus);
    expect(statuses().at(-1)).toMatchObject({ state: 'restarting', message: expect.stringContaining('exit code 134') });
    await until(() => window.webContents.posted.length === 2);
    expect(h.children).toHaveLength(2);
    expect(statuses().at(-1)).toMatchObject({ state: 'ready', message: expect.stringContaining('restarted') });
    const [, , newPorts] = window.webContents.posted[1] as [string, unknown, EmitterMessagePort[]];
    expect(await createClient(toEngine(newPorts[0]!)).call('engine/info', {})).toMatchObject({ badge: 'WASM' });

    // closing remembers the size; quitting kills the engine
    window.emit('close');
    expect(JSON.parse(fs.readFileSync(path.join(userData, 'window-state.json'), 'utf8'))).toMatchObject({ width: 1111, height: 777, x: 10, y: 20 });
    h.app.emit('will-quit');
    expect(h.children[1]!.killed).toBe(true);
    await new Promise((r) => setTimeout(r, 700));
    expect(h.children).toHaveLength(2); // no restart after quit
  });
});
