// Electron main: one secure window, the engine in a utility process (EngineHost), native dialogs,
// the foldwise:// protocol, the menu, one instance, a remembered window size.
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeTheme,
  screen,
  session,
  shell,
  type MessagePortMain,
  type WebContents,
} from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CHANNELS } from '../preload/channels';
import { EngineHost } from '../shared/engine-host';
import { forkEngine } from './engine-process';
import { buildMenu } from './menu';
import { handleScheme, registerScheme } from './protocol';
import { APP_ENTRY, CONTENT_SECURITY_POLICY, isTrustedSender } from './security';
import { loadWindowState, placeOnScreen, saveWindowStateSync } from './window-state';

// dist/main/index.js sits beside dist/renderer, dist/preload and dist/engine.
const dist = path.join(__dirname, '..');
const rendererDir = path.join(dist, 'renderer');
const preloadFile = path.join(dist, 'preload', 'index.js');
const engineEntry = path.join(dist, 'engine', 'entry.js');

registerScheme(); // must happen before 'ready'

if (!app.requestSingleInstanceLock()) {
  app.quit(); // another Foldwise is running; it is told through 'second-instance' and comes to the front
} else {
  start();
}

function start(): void {
  const host = new EngineHost<MessagePortMain>({
    fork: () =>
      forkEngine({
        entry: engineEntry,
        // Installers carry the default backbone so the app works offline from its first launch; from a
        // checkout it is assets/backbones (said explicitly: the bundled engine's __dirname is dist/engine).
        env: {
          FOLDWISE_BUNDLED_BACKBONES:
            process.env.FOLDWISE_BUNDLED_BACKBONES ??
            (app.isPackaged ? path.join(process.resourcesPath, 'backbones') : path.join(app.getAppPath(), 'assets', 'backbones')),
        },
      }),
  });

  // Pages that asked for an engine port (or had one before a restart) and get one whenever it is ready.
  const wantsPort = new Set<WebContents>();
  const sendPort = (contents: WebContents) => {
    if (contents.isDestroyed()) return void wantsPort.delete(contents);
    wantsPort.add(contents);
    const port = host.openChannel();
    if (port) contents.postMessage(CHANNELS.enginePort, null, [port]);
  };

  host.onStatus((status) => {
    for (const window of BrowserWindow.getAllWindows()) {
      if (!window.webContents.isDestroyed()) window.webContents.send(CHANNELS.engineStatus, status);
    }
    if (status.state === 'ready') [...wantsPort].forEach(sendPort);
    if (status.state === 'failed') console.error(`[foldwise] ${status.message}`);
  });

  registerIpc(sendPort);
  hardenAllContents();

  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows();
    if (!window) return void createWindow();
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow();
  });
  app.on('will-quit', () => void host.stop());

  void app.whenReady().then(async () => {
    if (!fs.existsSync(path.join(rendererDir, 'index.html')) || !fs.existsSync(engineEntry)) {
      dialog.showErrorBox('Foldwise is not built', `Foldwise's files are missing from ${dist}. Run "npm run build", then start it again.`);
      return app.quit();
    }
    hardenSession();
    handleScheme(session.defaultSession, rendererDir);
    Menu.setApplicationMenu(buildMenu({ onOpenFolder: () => void openFolderFromMenu(), onRetryEngine: () => void host.retry() }));
    void host.start();
    await createWindow();
  });
}

async function createWindow(): Promise<BrowserWindow> {
  const stateFile = path.join(app.getPath('userData'), 'window-state.json');
  const state = placeOnScreen(await loadWindowState(stateFile), screen.getAllDisplays().map((d) => d.workArea));
  const window = new BrowserWindow({
    width: state.width,
    height: state.height,
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    minWidth: 720,
    minHeight: 520,
    show: false,
    title: 'Foldwise',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#1b1b1f' : '#ffffff',
    webPreferences: {
      preload: preloadFile,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  if (state.maximized) window.maximize();
  window.once('ready-to-show', () => window.show());
  // A crashed page comes back by itself; the project on disk and the engine are untouched by it.
  window.webContents.on('render-process-gone', (_event, details) => {
    if (details.reason !== 'clean-exit' && !window.isDestroyed()) window.reload();
  });
  window.on('close', () => {
    saveWindowStateSync(stateFile, { ...window.getNormalBounds(), maximized: window.isMaximized() });
  });
  await window.loadURL(APP_ENTRY);
  return window;
}

/** The native folder dialog, attached to `window` when there is one; null when the user cancels. */
async function chooseFolder(window: BrowserWindow | null | undefined): Promise<string | null> {
  const options = { title: 'Choose the folder with your photos', properties: ['openDirectory' as const] };
  const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

/** File > Open Folder…: the page scans the chosen folder as if it had been picked on the Folders step. */
async function openFolderFromMenu(): Promise<void> {
  const window = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0] ?? (await createWindow());
  const root = await chooseFolder(window);
  if (root && !window.isDestroyed() && !window.webContents.isDestroyed()) window.webContents.send(CHANNELS.openFolder, root);
}

/** ipc from the preload; each message is checked to come from our own page before anything happens. */
function registerIpc(sendPort: (contents: WebContents) => void): void {
  ipcMain.on(CHANNELS.hello, (event) => {
    if (isTrustedSender(event)) sendPort(event.sender);
  });

  ipcMain.handle(CHANNELS.pickFolder, async (event) => {
    if (!isTrustedSender(event)) throw new Error('Refused: not Foldwise\'s own page.');
    return chooseFolder(BrowserWindow.fromWebContents(event.sender));
  });

  ipcMain.handle(CHANNELS.showInFolder, async (event, raw: unknown) => {
    if (!isTrustedSender(event)) throw new Error('Refused: not Foldwise\'s own page.');
    const target = z.string().min(1).refine(path.isAbsolute).safeParse(raw);
    if (!target.success) return false;
    const stat = await fs.promises.stat(target.data).catch(() => null);
    if (!stat) return false;
    if (stat.isDirectory()) return (await shell.openPath(target.data)) === ''; // '' means it opened
    shell.showItemInFolder(target.data);
    return true;
  });
}

/** No navigation, no new windows, no webviews, for every page Electron creates. */
function hardenAllContents(): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

function hardenSession(): void {
  const ses = session.defaultSession;
  // Foldwise needs no camera, notifications, geolocation...: every permission is refused.
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  // foldwise:// pages already carry the policy; this also covers anything loaded any other way.
  ses.webRequest.onHeadersReceived((details, callback) => {
    if (details.url.startsWith('devtools:')) return callback({});
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
}
