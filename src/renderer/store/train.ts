// Step 3: training. Batch losses arrive many times a second; they are buffered and drawn once a frame.
import { DEFAULT_EPOCHS } from '../../shared/defaults';
import type { BatchMetrics, EpochMetrics, FineTuneChoice, FineTuneEstimate, TrainConfigInput, TrainResult } from '../../shared/types';
import { isCancelled, messageOf } from '../lib/errors';
import { joinPath } from '../lib/format';
import { createFrameBatcher, thinSeries } from '../lib/frame';
import { dataConfig } from './lr';
import type { All, Slice, StoreDeps } from './types';

export type TrainStatus = 'idle' | 'running' | 'paused' | 'done' | 'error' | 'cancelled';

/** One point of the live loss chart: x counts epochs, so 1.5 is half-way through epoch 2. */
export interface BatchPoint {
  x: number;
  loss: number;
  stage: 'head' | 'fine-tune';
}

export interface TrainSlice {
  training: {
    status: TrainStatus;
    job: string | null;
    error: string | null;
    startedAt: number | null;
    finishedAt: number | null;
    /** Epochs asked for, for "epoch 2 of 3". */
    planned: number;
    batches: BatchPoint[];
    epochs: EpochMetrics[];
    result: TrainResult | null;
  };
  /** fineTune 'auto' (the default): the top of the backbone when its estimate fits the time budget. */
  /** epochs null: the engine's default (30, fewer for folders of thousands of photos). */
  trainSettings: { epochs: number | null; fineTune: FineTuneChoice };
  /** The cost of each kind of fine-tuning on this machine, asked for when it is shown. */
  estimates: Record<'top' | 'whole', EstimateState>;
  setTrainSettings(settings: Partial<TrainSlice['trainSettings']>): void;
  estimateFineTune(layers: 'top' | 'whole'): Promise<void>;
  startTraining(): Promise<void>;
  togglePause(): Promise<void>;
  cancelTraining(): void;
  /** Called by the event wiring; public so tests can feed events. */
  receiveBatch(batch: BatchMetrics): void;
  receiveEpoch(job: string, metrics: EpochMetrics): void;
}

export interface EstimateState {
  status: 'idle' | 'running' | 'done' | 'error';
  value: FineTuneEstimate | null;
  error: string | null;
}

export const MAX_CHART_POINTS = 1500;

const noEstimate: EstimateState = { status: 'idle', value: null, error: null };

export const initialTraining: Pick<TrainSlice, 'training' | 'estimates'> = {
  training: { status: 'idle', job: null, error: null, startedAt: null, finishedAt: null, planned: 0, batches: [], epochs: [], result: null },
  estimates: { top: noEstimate, whole: noEstimate },
};

export function trainConfig(s: All): TrainConfigInput {
  return {
    ...dataConfig(s),
    lr: s.lr.chosen ?? 'auto',
    epochs: s.trainSettings.epochs ?? undefined,
    fineTune: s.trainSettings.fineTune,
  };
}

export const createTrainSlice =
  ({ api, frame, now = Date.now }: StoreDeps): Slice<TrainSlice> =>
  (set, get) => {
    // Per store, so two stores (tests, or two windows) never cancel each other's jobs.
    let cancelRunning: (() => void) | null = null;
    const cancelEstimate: Record<'top' | 'whole', (() => void) | null> = { top: null, whole: null };
    const pushBatches = createFrameBatcher<BatchMetrics>((items) => {
      const job = get().training.job;
      const fresh = items
        .filter((b) => b.job === job && Number.isFinite(b.loss))
        .map((b) => ({ x: b.epoch - 1 + b.batch / Math.max(1, b.batches), loss: b.loss, stage: b.stage ?? 'head' }));
      if (fresh.length === 0) return;
      // Left to the default, a big folder trains fewer epochs than 30: the engine says how many with each batch.
      const head = items.findLast((b) => b.job === job && (b.stage ?? 'head') === 'head' && b.epochs !== undefined);
      set((s) => ({ training: { ...s.training, planned: head?.epochs ?? s.training.planned, batches: thinSeries([...s.training.batches, ...fresh], MAX_CHART_POINTS) } }));
    }, frame);

    return {
      ...initialTraining,
      trainSettings: { epochs: null, fineTune: 'auto' },
      setTrainSettings(settings) {
        set((s) => ({ trainSettings: { ...s.trainSettings, ...settings } }));
        // Whole-network fine-tuning is measured only once someone picks it (it takes seconds to time).
        if (settings.fineTune === 'whole' && ['idle', 'error'].includes(get().estimates.whole.status)) void get().estimateFineTune('whole');
        // Switched away while the engine measures: stop measuring; it would only hold up the next job.
        if (settings.fineTune && settings.fineTune !== 'whole' && get().estimates.whole.status === 'running') {
          cancelEstimate.whole?.();
          set((s) => ({ estimates: { ...s.estimates, whole: noEstimate } }));
        }
      },
      async estimateFineTune(layers) {
        const call = api.call('train/estimate-fine-tune', { ...trainConfig(get()), fineTune: layers });
        cancelEstimate[layers] = () => call.cancel();
        const put = (state: EstimateState) => set((s) => ({ estimates: { ...s.estimates, [layers]: state } }));
        put({ status: 'running', value: null, error: null });
        try {
          put({ status: 'done', value: await call, error: null });
        } catch (error) {
          if (!isCancelled(error)) put({ status: 'error', value: null, error: messageOf(error) });
        } finally {
          cancelEstimate[layers] = null;
        }
      },
      async startTraining() {
        if (get().training.status === 'running' || get().training.status === 'paused') return;
        get().invalidateFrom('review');
        // With a project open, its runs live inside it; otherwise the engine's own runs folder is used.
        const project = get().project;
        const out = project ? joinPath(project.dir, `runs/${new Date(now()).toISOString().replace(/[:.]/g, '-').replace('Z', '')}`) : undefined;
        const call = api.call('train/run', { ...trainConfig(get()), out });
        cancelRunning = () => call.cancel();
        set({
          training: { ...initialTraining.training, status: 'running', job: call.job, startedAt: now(), planned: get().trainSettings.epochs ?? DEFAULT_EPOCHS },
        });
        try {
          const result = await call;
          if (get().training.job !== call.job) return;
          set((s) => ({ training: { ...s.training, status: 'done', result, epochs: s.training.epochs.length ? s.training.epochs : result.epochs, finishedAt: now() } }));
          get().recordRun(result);
        } catch (error) {
          if (get().training.job !== call.job) return;
          const cancelled = isCancelled(error);
          set((s) => ({ training: { ...s.training, status: cancelled ? 'cancelled' : 'error', error: cancelled ? null : messageOf(error), finishedAt: now() } }));
        } finally {
          if (get().training.job === call.job) cancelRunning = null;
        }
      },
      async togglePause() {
        const { status, job } = get().training;
        if (!job || (status !== 'running' && status !== 'paused')) return;
        try {
          const { paused } = await api.call('train/pause', { job, paused: status === 'running' });
          if (get().training.job === job) set((s) => ({ training: { ...s.training, status: paused ? 'paused' : 'running' } }));
        } catch (error) {
          get().addNotice({ level: 'warning', message: `Could not pause: ${messageOf(error)}` });
        }
      },
      cancelTraining() {
        cancelRunning?.();
      },
      receiveBatch(batch) {
        if (batch.job === get().training.job) pushBatches(batch);
      },
      receiveEpoch(job, metrics) {
        if (job !== get().training.job) return;
        set((s) => {
          const others = s.training.epochs.filter((e) => !(e.epoch === metrics.epoch && (e.stage ?? 'head') === (metrics.stage ?? 'head')));
          return { training: { ...s.training, epochs: [...others, metrics] } };
        });
      },
    };
  };
