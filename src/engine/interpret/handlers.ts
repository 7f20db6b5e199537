import type { ServerHandlers } from '../../shared/rpc';
import { evaluateRun } from './evaluate';

export function reviewHandlers(): Pick<Partial<ServerHandlers>, 'review/evaluate' | 'review/heatmap'> {
  return {
    'review/evaluate': async ({ runDir }, ctx) => {
      ctx.emit('job/progress', { job: ctx.job, stage: 'evaluate', done: 0, total: 1 });
      const review = await evaluateRun(runDir);
      ctx.emit('job/progress', { job: ctx.job, stage: 'evaluate', done: 1, total: 1 });
      return review;
    },
  };
}
