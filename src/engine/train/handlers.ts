// 'train/*' calls: the LR finder, a training run, pause/resume of a running job, and the
// fine-tuning time estimate.
import type { ServerHandlers } from '../../shared/rpc';
import { estimateFineTune } from './fine-tune-estimate';
import { createPauseGate, type PauseGate } from './pause';
import { findLearningRateForFolder, trainFolder } from './run';

export function trainHandlers(): Pick<ServerHandlers, 'train/find-lr' | 'train/run' | 'train/pause' | 'train/estimate-fine-tune'> {
  // Pause gates of running trainings, by job id.
  const gates = new Map<string, PauseGate>();
  return {
    'train/find-lr': (args, ctx) => findLearningRateForFolder(args, ctx),
    'train/run': async (args, ctx) => {
      const gate = createPauseGate();
      gates.set(ctx.job, gate);
      try {
        return await trainFolder(args, { ...ctx, waitIfPaused: () => gate.wait(ctx.signal) });
      } finally {
        gates.delete(ctx.job);
      }
    },
    'train/pause': async ({ job, paused }) => {
      const gate = gates.get(job);
      if (!gate) return { paused: false };
      gate.set(paused);
      return { paused: gate.paused };
    },
    'train/estimate-fine-tune': (args, ctx) => estimateFineTune(args, ctx),
  };
}
