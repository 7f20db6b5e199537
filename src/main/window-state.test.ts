import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW, loadWindowState, placeOnScreen, saveWindowStateSync } from './window-state';

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-window-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('remembered window size', () => {
  it('remembers size, place and maximised state', async () => {
    const file = path.join(tmp, 'userData', 'window-state.json');
    expect(await loadWindowState(file)).toEqual(DEFAULT_WINDOW);
    saveWindowStateSync(file, { width: 1440, height: 900, x: 20, y: 30, maximized: true });
    expect(await loadWindowState(file)).toEqual({ width: 1440, height: 900, x: 20, y: 30, maximized: true });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['window-state.json']);
  });

  it('saves synchronously at quit, leaving no temp file', async () => {
    const file = path.join(tmp, 'deep', 'window-state.json');
    saveWindowStateSync(file, { width: 800, height: 600, maximized: false });
    expect(await loadWindowState(file)).toEqual({ width: 800, height: 600, maximized: false });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['window-state.json']);
  });

  it('falls back to the default for a damaged or absurd file', async () => {
    const file = path.join(tmp, 'window-state.json');
    fs.writeFileSync(file, '{"width": 12');
    expect(await loadWindowState(file)).toEqual(DEFAULT_WINDOW);
    fs.writeFileSync(file, JSON.stringify({ width: 5, height: 5 }));
    expect(await loadWindowState(file)).toEqual(DEFAULT_WINDOW);
  });

  it('forgets a place that is on no screen any more', () => {
    const laptop = [{ x: 0, y: 0, width: 1440, height: 900 }];
    const state = { width: 1000, height: 700, x: 2000, y: 100, maximized: false }; // was on a second monitor
    expect(placeOnScreen(state, laptop)).toEqual({ width: 1000, height: 700, maximized: false });
    expect(placeOnScreen({ ...state, x: 100 }, laptop)).toEqual({ ...state, x: 100 });
    expect(placeOnScreen({ ...state, x: 1400 }, laptop)).toEqual({ width: 1000, height: 700, maximized: false }); // only 40 px showing
  });
});
