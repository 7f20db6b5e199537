// Step 1: which folder, what the scan found, and the user's edits (exclusions, new labels).
import type { DatasetEdits, DatasetSummary } from '../../shared/types';
import { isCancelled, messageOf } from '../lib/errors';
import type { JobStatus, Slice, StoreDeps } from './types';

export type SplitMode = 'folders' | 'auto';

export interface DatasetSlice {
  /** The text in the path field. */
  folder: string;
  scan: { status: JobStatus; job: string | null; error: string | null };
  summary: DatasetSummary | null;
  edits: DatasetEdits;
  split: { mode: SplitMode; validPercent: number };
  setFolder(folder: string): void;
  scanFolder(folder?: string): Promise<void>;
  cancelScan(): void;
  excludeFiles(files: string[]): void;
  includeFile(file: string): void;
  /** Records a new label; choosing the folder's own label again (`original`) forgets the change. */
  relabelFile(file: string, label: string, original?: string): void;
  setSplit(split: Partial<DatasetSlice['split']>): void;
}

export const initialDataset = {
  folder: '',
  scan: { status: 'idle' as JobStatus, job: null, error: null },
  summary: null,
  edits: { exclude: [], relabel: {} },
  split: { mode: 'folders' as SplitMode, validPercent: 20 },
};

/** Whether the folders themselves say which photos are for checking (a val/valid folder). */
export function foldersHaveSplit(summary: DatasetSummary | null): boolean {
  return summary?.splitFromFolders ?? summary?.layout === 'splits';
}

/** The validation share the engine should use, or undefined to keep the folders' own split. */
export function validFraction(s: Pick<DatasetSlice, 'split' | 'summary'>): number | undefined {
  if (s.split.mode === 'folders' && foldersHaveSplit(s.summary)) return undefined;
  return s.split.validPercent / 100;
}

/** Classes that have at least one usable photo. */
export function classesWithImages(summary: DatasetSummary | null): number {
  return (summary?.classes ?? []).filter((c) => c.images.train + c.images.valid + c.images.test > 0).length;
}

export const createDatasetSlice =
  ({ api }: StoreDeps): Slice<DatasetSlice> =>
  (set, get) => {
    // Per store, so two stores (tests, or two windows) never cancel each other's jobs.
    let cancelRunning: (() => void) | null = null;
    return {
      ...initialDataset,
      setFolder(folder) {
        set({ folder });
      },
      async scanFolder(folder) {
        const root = (folder ?? get().folder).trim();
        if (!root) {
          set({ scan: { status: 'error', job: null, error: 'Type the path of a folder first, or pick one.' } });
          return;
        }
        cancelRunning?.();
        const sameFolder = get().summary?.root === root;
        const call = api.call('dataset/scan', { root, validFraction: sameFolder ? validFraction(get()) : undefined });
        cancelRunning = () => call.cancel();
        set({ folder: root, scan: { status: 'running', job: call.job, error: null } });
        try {
          const summary = await call;
          if (get().scan.job !== call.job) return; // a newer scan replaced this one
          const keepSplit: DatasetSlice['split'] = sameFolder ? get().split : { ...initialDataset.split, mode: foldersHaveSplit(summary) ? 'folders' : 'auto' };
          set({ summary, split: keepSplit, scan: { status: 'done', job: null, error: null } });
          if (!sameFolder) {
            set({ edits: { exclude: [], relabel: {} } });
            get().invalidateFrom('lr');
          }
          get().saveProject();
        } catch (error) {
          if (get().scan.job !== call.job) return;
          set({ scan: { status: isCancelled(error) ? 'cancelled' : 'error', job: null, error: isCancelled(error) ? null : messageOf(error) } });
        } finally {
          if (get().scan.job === null) cancelRunning = null;
        }
      },
      cancelScan() {
        cancelRunning?.();
      },
      excludeFiles(files) {
        set((s) => ({ edits: { ...s.edits, exclude: [...new Set([...s.edits.exclude, ...files])] } }));
        get().saveProject();
      },
      includeFile(file) {
        set((s) => ({ edits: { ...s.edits, exclude: s.edits.exclude.filter((f) => f !== file) } }));
        get().saveProject();
      },
      relabelFile(file, label, original) {
        set((s) => {
          const { [file]: _previous, ...rest } = s.edits.relabel;
          return { edits: { ...s.edits, relabel: label === original ? rest : { ...rest, [file]: label } } };
        });
        get().saveProject();
      },
      setSplit(split) {
        set((s) => ({ split: { ...s.split, ...split } }));
        if (get().summary) {
          get().invalidateFrom('lr');
          void get().scanFolder(get().summary!.root);
        }
      },
    };
  };
