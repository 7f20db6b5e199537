// "Try it": drop any photo and see what the trained model says, with its heatmap.
import type { Prediction } from '../../shared/types';
import { messageOf } from '../lib/errors';
import { currentRunDir } from './review';
import type { Slice, StoreDeps } from './types';

export interface TryItSlice {
  tryIt: {
    open: boolean;
    status: 'idle' | 'running' | 'done' | 'error';
    name: string | null;
    /** A blob: URL of the user's photo, for showing it. */
    preview: string | null;
    prediction: Prediction | null;
    heatmap: string | null;
    error: string | null;
  };
  setTryItOpen(open: boolean): void;
  tryPhoto(file: File, previewUrl: string | null): Promise<void>;
}

export const createTryItSlice =
  ({ api, readablePath }: StoreDeps): Slice<TryItSlice> =>
  (set, get) => ({
    tryIt: { open: false, status: 'idle', name: null, preview: null, prediction: null, heatmap: null, error: null },
    setTryItOpen(open) {
      set((s) => ({ tryIt: { ...s.tryIt, open } }));
    },
    async tryPhoto(file, previewUrl) {
      const runDir = currentRunDir(get());
      const old = get().tryIt.preview;
      if (old && typeof URL !== 'undefined' && URL.revokeObjectURL) URL.revokeObjectURL(old);
      set((s) => ({ tryIt: { ...s.tryIt, status: 'running', name: file.name, preview: previewUrl, prediction: null, heatmap: null, error: null } }));
      try {
        if (!runDir) throw new Error('Train a model first; then you can try it on any photo.');
        if (!readablePath) throw new Error('This window cannot hand photos to the engine.');
        const path = await readablePath(file);
        const [prediction] = await api.call('model/predict', { model: runDir, files: [path] });
        if (!prediction) throw new Error('The model gave no answer for this photo.');
        if (prediction.error) throw new Error(prediction.error);
        set((s) => ({ tryIt: { ...s.tryIt, prediction } }));
        const heatmap = await api.call('review/heatmap', { runDir, file: path }).catch(() => null);
        set((s) => ({ tryIt: { ...s.tryIt, status: 'done', heatmap: heatmap?.png ?? null } }));
      } catch (error) {
        set((s) => ({ tryIt: { ...s.tryIt, status: 'error', error: messageOf(error) } }));
      }
    },
  });
