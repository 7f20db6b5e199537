// The application menu: the platform's usual items and shortcuts (Edit's copy/paste matter for
// text fields), File > Open Folder… (Ctrl/Cmd+O), plus Foldwise's folders under Help.
import { app, Menu, shell, type MenuItemConstructorOptions } from 'electron';
import { cacheDir, dataDir } from '../engine/paths';

export interface MenuActions {
  /** File > Open Folder…: show the native folder dialog and hand the choice to the page. */
  onOpenFolder(): void;
  onRetryEngine(): void;
}

export function buildMenu(options: MenuActions): Menu {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: '&Open Folder…', accelerator: 'CmdOrCtrl+O', click: () => options.onOpenFolder() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'reload' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'Start the Engine Again', click: () => options.onRetryEngine() },
        { type: 'separator' },
        { label: 'Show Projects List Folder', click: () => void shell.openPath(dataDir()) },
        { label: 'Show Cache Folder', click: () => void shell.openPath(cacheDir()) },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
