import type { ServerHandlers } from '../../shared/rpc';
import { evaluateRun } from './evaluate';
import { createHeatmapper } from './heatmap';

export function reviewHandlers(): Pick<Partial<ServerHandlers>, 'review/evaluate' | 'review/heatmap'> {
  const heatmapper = createHeatmapper();
  return {
    'review/evaluate': async ({ runDir }, ctx) => {
      ctx.emit('job/progress', { job: ctx.job, stage: 'evaluate', done: 0, total: 1 });
      const review = await evaluateRun(runDir);
      ctx.emit('job/progress', { job: ctx.job, stage: 'evaluate', done: 1, total: 1 });
      return review;
    },
    'review/heatmap': async ({ runDir, file, classIndex }, ctx) => {
      const { file: shown, predicted, probability, classIndex: explained, png } = await heatmapper.heatmap(runDir, file, { classIndex, signal: ctx.signal });
      return { file: shown, predicted, probability, classIndex: explained, png };
    },
  };
}
