// The preload: window.foldwise (DesktopBridge, see src/shared/contract.ts) and nothing else. With
// contextIsolation the page cannot hold our MessagePort, so the port lives here and the page gets
// named functions; appApiFromBridge in the renderer turns them into an AppApi.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { DesktopBridge } from '../shared/contract';
import { engineNotices, type EngineStatus } from '../shared/engine-host';
import { createEngineBridge } from './bridge';
import { CHANNELS, imageUrl } from './channels';
import { portFromDom } from './ports';

const engine = createEngineBridge();
// The same notices `foldwise serve` gives a browser tab (see engineNotices).
const followStatus = engineNotices({ lost: (message) => engine.engineLost(message), notice: (notice) => engine.notice(notice) });

ipcRenderer.on(CHANNELS.enginePort, (event) => {
  const [port] = event.ports;
  if (port) engine.attach(portFromDom(port));
});

ipcRenderer.on(CHANNELS.engineStatus, (_event, status: EngineStatus) => followStatus(status));

// File > Open Folder… in main's menu: the page hears an 'app/open-folder' event, as it hears notices.
ipcRenderer.on(CHANNELS.openFolder, (_event, root: unknown) => engine.folderPicked(root));

const api: DesktopBridge = {
  shell: 'electron',
  call: (name, args) => engine.call(name, args),
  cancel: (job) => engine.cancel(String(job)),
  on: (event, listener) => engine.on(event, listener),
  imageUrl: (id) => imageUrl(String(id)),
  pickFolder: () => ipcRenderer.invoke(CHANNELS.pickFolder),
  showInFolder: (path) => ipcRenderer.invoke(CHANNELS.showInFolder, String(path)),
  // Empty for files that are not on disk (e.g. dragged from a web page).
  pathForFile: (file) => webUtils.getPathForFile(file) || null,
};

contextBridge.exposeInMainWorld('foldwise', api);
ipcRenderer.send(CHANNELS.hello);
