// Step 4: what the model got wrong, with heatmaps on demand.
import type { Interpretation, ReviewItem } from '../../shared/types';
import { messageOf } from '../lib/errors';
import type { All, JobStatus, Slice, StoreDeps } from './types';

export interface HeatmapState {
  status: 'loading' | 'done' | 'error';
  png?: string;
  /** The answer the heatmap explains (the model's own answer for this photo). */
  explains?: string;
  error?: string;
}

export interface ReviewSlice {
  review: { status: JobStatus; error: string | null; data: Interpretation | null; forRun: string | null };
  /** The confusion-matrix cell whose images are open: indices into classes. */
  openCell: { actual: number; predicted: number } | null;
  heatmaps: Record<string, HeatmapState>;
  heatmapShown: Record<string, boolean>;
  evaluateRun(): Promise<void>;
  openConfusionCell(cell: { actual: number; predicted: number } | null): void;
  toggleHeatmap(item: Pick<ReviewItem, 'file'>): Promise<void>;
}

export const initialReview: Pick<ReviewSlice, 'review' | 'openCell' | 'heatmaps' | 'heatmapShown'> = {
  review: { status: 'idle', error: null, data: null, forRun: null },
  openCell: null,
  heatmaps: {},
  heatmapShown: {},
};

/** The run being reviewed and exported: the one just trained, else the one restored from the project. */
export function currentRunDir(s: All): string | null {
  return s.training.result?.runDir ?? s.restoredRunDir;
}

/** The images of one confusion-matrix cell. */
export function cellItems(data: Interpretation, cell: { actual: number; predicted: number }): ReviewItem[] {
  const actual = data.classes[cell.actual];
  const predicted = data.classes[cell.predicted];
  return data.predictions.filter((p) => p.actual === actual && p.predicted === predicted);
}

export const createReviewSlice =
  ({ api }: StoreDeps): Slice<ReviewSlice> =>
  (set, get) => ({
    ...initialReview,
    async evaluateRun() {
      const runDir = currentRunDir(get());
      if (!runDir) return;
      set({ ...initialReview, review: { status: 'running', error: null, data: null, forRun: runDir } });
      try {
        const data = await api.call('review/evaluate', { runDir });
        if (get().review.forRun === runDir) set({ review: { status: 'done', error: null, data, forRun: runDir } });
      } catch (error) {
        if (get().review.forRun === runDir) set({ review: { status: 'error', error: messageOf(error), data: null, forRun: runDir } });
      }
    },
    openConfusionCell(cell) {
      const same = cell && get().openCell?.actual === cell.actual && get().openCell?.predicted === cell.predicted;
      set({ openCell: same ? null : cell });
    },
    async toggleHeatmap({ file }) {
      const shown = !get().heatmapShown[file];
      set((s) => ({ heatmapShown: { ...s.heatmapShown, [file]: shown } }));
      const existing = get().heatmaps[file];
      if (!shown || existing?.status === 'done' || existing?.status === 'loading') return;
      const runDir = currentRunDir(get());
      if (!runDir) return;
      set((s) => ({ heatmaps: { ...s.heatmaps, [file]: { status: 'loading' } } }));
      try {
        const heatmap = await api.call('review/heatmap', { runDir, file });
        set((s) => ({ heatmaps: { ...s.heatmaps, [file]: { status: 'done', png: heatmap.png, explains: heatmap.predicted } } }));
      } catch (error) {
        set((s) => ({ heatmaps: { ...s.heatmaps, [file]: { status: 'error', error: messageOf(error) } } }));
      }
    },
  });
