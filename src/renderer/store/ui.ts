// Look and feel: the theme follows the system unless the user picks one.
import type { Slice } from './types';

export type Theme = 'system' | 'light' | 'dark';

export interface UiSlice {
  theme: Theme;
  setTheme(theme: Theme): void;
}

const KEY = 'foldwise.theme';

function storedTheme(): Theme {
  try {
    const value = globalThis.localStorage?.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

export const createUiSlice = (): Slice<UiSlice> => (set) => ({
  theme: storedTheme(),
  setTheme(theme) {
    try {
      globalThis.localStorage?.setItem(KEY, theme);
    } catch {
      // private windows may refuse storage; the choice still holds for this session
    }
    set({ theme });
  },
});
