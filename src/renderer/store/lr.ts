// Step 2: the learning-rate finder's curve and the rate the user keeps.
import { DEFAULT_BACKBONE } from '../../shared/defaults';
import type { LrCurve, LrFindConfig } from '../../shared/types';
import { isCancelled, messageOf } from '../lib/errors';
import { validFraction } from './dataset';
import type { All, JobStatus, Slice, StoreDeps } from './types';

export interface LrSlice {
  lr: {
    status: JobStatus;
    job: string | null;
    error: string | null;
    curve: LrCurve | null;
    chosen: number | null;
    /** The user chose to let training pick the rate itself (when the finder cannot run). */
    auto: boolean;
    forKey: string | null;
  };
  backbone: string;
  findLearningRate(): Promise<void>;
  chooseLearningRate(lr: number): void;
  chooseAutomaticRate(): void;
  cancelLearningRate(): void;
  setBackbone(id: string): void;
}

export const initialLr: Pick<LrSlice, 'lr'> = {
  lr: { status: 'idle', job: null, error: null, curve: null, chosen: null, auto: false, forKey: null },
};

/** What the finder and training both need to know about the data. */
export function dataConfig(s: All): Omit<LrFindConfig, 'seed'> {
  return { root: s.summary?.root ?? s.folder, backbone: s.backbone, validFraction: validFraction(s), edits: s.edits };
}

/** A curve belongs to one dataset + edits + backbone; any change makes it stale. */
export function lrKey(s: All): string {
  return JSON.stringify(dataConfig(s));
}

export const createLrSlice =
  ({ api }: StoreDeps): Slice<LrSlice> =>
  (set, get) => {
    // Per store, so two stores (tests, or two windows) never cancel each other's jobs.
    let cancelRunning: (() => void) | null = null;
    return {
      ...initialLr,
      backbone: DEFAULT_BACKBONE,
      async findLearningRate() {
        cancelRunning?.();
        const key = lrKey(get());
        // A rate restored from a project (no curve yet) is the user's choice: the new curve must not replace it.
        const restored = get().lr.forKey === null ? get().lr.chosen : null;
        const call = api.call('train/find-lr', dataConfig(get()));
        cancelRunning = () => call.cancel();
        set({ lr: { status: 'running', job: call.job, error: null, curve: null, chosen: null, auto: false, forKey: key } });
        try {
          const curve = await call;
          if (get().lr.job !== call.job) return;
          set({ lr: { status: 'done', job: null, error: null, curve, chosen: restored ?? curve.suggestion, auto: false, forKey: key } });
          get().saveProject();
        } catch (error) {
          if (get().lr.job !== call.job) return;
          set((s) => ({ lr: { ...s.lr, status: isCancelled(error) ? 'cancelled' : 'error', job: null, error: isCancelled(error) ? null : messageOf(error) } }));
        }
      },
      chooseLearningRate(lr) {
        if (!(lr > 0)) return;
        set((s) => ({ lr: { ...s.lr, chosen: lr, auto: false } }));
        get().saveProject();
      },
      chooseAutomaticRate() {
        set((s) => ({ lr: { ...s.lr, chosen: null, auto: true } }));
      },
      cancelLearningRate() {
        cancelRunning?.();
      },
      setBackbone(id) {
        if (id === get().backbone) return;
        set({ backbone: id });
        // "Its last layers" chosen for a model that has none (two side by side) would only be refused
        // at training: the choice goes back to automatic, which means none for that model.
        const tunableTop = get().backbones.find((b) => b.id === id)?.tunableTop ?? true;
        if (!tunableTop && get().trainSettings.fineTune === 'top') get().setTrainSettings({ fineTune: 'auto' });
        get().invalidateFrom('lr');
      },
    };
  };
