// How a stage reports 'job/progress': every step, as it happens. The rpc boundary
// (shared/event-throttle.ts) decides how often they go out, estimates the time left, and re-sends
// the last one while a stage is quiet, so no stage runs a throttle, a clock or a heartbeat of its own.
import type { CallContext } from '../shared/rpc';
import type { Progress } from '../shared/types';

export type ProgressStep = Omit<Progress, 'job'>;

export function progressReporter(ctx: Pick<CallContext, 'job' | 'emit'>): (step: ProgressStep) => void {
  return (step) => ctx.emit('job/progress', { job: ctx.job, ...step });
}
