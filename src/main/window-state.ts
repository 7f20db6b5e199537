// The window's size and place, remembered between launches in a small JSON in userData.
// Written atomically; a damaged or off-screen state falls back to a sensible default.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const WindowState = z.object({
  width: z.number().int().min(400).max(20_000),
  height: z.number().int().min(300).max(20_000),
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  maximized: z.boolean().default(false),
});
export type WindowState = z.infer<typeof WindowState>;

export const DEFAULT_WINDOW: WindowState = { width: 1200, height: 820, maximized: false };

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export async function loadWindowState(file: string): Promise<WindowState> {
  try {
    const parsed = WindowState.safeParse(JSON.parse(await fs.promises.readFile(file, 'utf8')));
    return parsed.success ? parsed.data : DEFAULT_WINDOW;
  } catch {
    return DEFAULT_WINDOW;
  }
}

/**
 * Keeps the remembered place only if enough of the window (its top strip, where the title bar is)
 * shows on one of today's screens: a monitor unplugged since must not leave the window invisible.
 */
export function placeOnScreen(state: WindowState, workAreas: Rect[]): WindowState {
  if (state.x === undefined || state.y === undefined) return state;
  const { x, y, width } = state;
  const titleBar = { x, y, width, height: 40 };
  const visible = workAreas.some((area) => {
    const w = Math.min(titleBar.x + titleBar.width, area.x + area.width) - Math.max(titleBar.x, area.x);
    const h = Math.min(titleBar.y + titleBar.height, area.y + area.height) - Math.max(titleBar.y, area.y);
    return w >= 100 && h >= 20;
  });
  if (visible) return state;
  const { x: _x, y: _y, ...rest } = state;
  return rest; // the window manager centres it
}

/** Saved synchronously, while the app closes, when an async write might be cut short. Temp file, then rename. */
export function saveWindowStateSync(file: string, state: WindowState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(WindowState.parse(state), null, 2)}\n`);
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true }); // a window size is not worth an error at quit
  }
}
