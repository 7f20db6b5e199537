// Step 5: write the model in a format other programs load, verified against the app's own predictions.
import type { ExportFormat, ExportResult } from '../../shared/types';
import { isCancelled, messageOf } from '../lib/errors';
import { joinPath } from '../lib/format';
import { currentRunDir } from './review';
import type { All, JobStatus, Slice, StoreDeps } from './types';

export interface ExportSlice {
  exporting: { format: ExportFormat; out: string; status: JobStatus; job: string | null; error: string | null; result: ExportResult | null };
  /** Every export finished in this session, newest last. */
  exports: ExportResult[];
  setExportFormat(format: ExportFormat): void;
  setExportOut(out: string): void;
  exportModel(): Promise<void>;
  cancelExport(): void;
}

export const initialExport: Pick<ExportSlice, 'exporting' | 'exports'> = {
  exporting: { format: 'tfjs', out: '', status: 'idle', job: null, error: null, result: null },
  exports: [],
};

/** Where an export goes unless the user says otherwise: inside the run, one folder per format. */
export function defaultExportDir(s: All, format: ExportFormat): string {
  const runDir = currentRunDir(s);
  return runDir ? joinPath(runDir, `export-${format}`) : '';
}

export const createExportSlice =
  ({ api }: StoreDeps): Slice<ExportSlice> =>
  (set, get) => {
    // Per store, so two stores (tests, or two windows) never cancel each other's jobs.
    let cancelRunning: (() => void) | null = null;
    return {
      ...initialExport,
      setExportFormat(format) {
        set((s) => ({ exporting: { ...s.exporting, format } }));
      },
      setExportOut(out) {
        set((s) => ({ exporting: { ...s.exporting, out } }));
      },
      async exportModel() {
        const runDir = currentRunDir(get());
        if (!runDir || get().exporting.status === 'running') return;
        const { format } = get().exporting;
        const out = get().exporting.out.trim() || defaultExportDir(get(), format);
        const call = api.call('model/export', { runDir, format, out });
        cancelRunning = () => call.cancel();
        set((s) => ({ exporting: { ...s.exporting, status: 'running', job: call.job, error: null, result: null } }));
        try {
          const result = await call;
          set((s) => ({ exporting: { ...s.exporting, status: 'done', job: null, result }, exports: [...s.exports, result] }));
        } catch (error) {
          const cancelled = isCancelled(error);
          set((s) => ({ exporting: { ...s.exporting, status: cancelled ? 'cancelled' : 'error', job: null, error: cancelled ? null : messageOf(error) } }));
        } finally {
          cancelRunning = null;
        }
      },
      cancelExport() {
        cancelRunning?.();
      },
    };
  };
