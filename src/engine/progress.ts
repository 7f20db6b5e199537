// 'job/progress' for long jobs, shared by scan, download, export and predict: at most one event per
// interval (the last step always goes out, and `force` sends regardless, for heartbeats), with the
// time left estimated from the rate since the first report (a resumed download starts part-way).
import type { CallContext } from '../shared/rpc';
import type { Progress } from '../shared/types';

export type ProgressStep = Omit<Progress, 'job' | 'etaSeconds'>;

export function progressThrottle(ctx: Pick<CallContext, 'job' | 'emit'>, intervalMs = 250, now: () => number = Date.now): (step: ProgressStep, force?: boolean) => void {
  let first: { at: number; done: number } | null = null;
  let sentAt = -Infinity;
  return (step, force = false) => {
    const t = now();
    first ??= { at: t, done: step.done };
    if (!force && t - sentAt < intervalMs && step.done < step.total) return;
    sentAt = t;
    const seconds = (t - first.at) / 1000;
    const rate = seconds > 0 ? (step.done - first.done) / seconds : 0;
    const etaSeconds = rate > 0 && step.total > step.done ? Math.round((step.total - step.done) / rate) : null;
    ctx.emit('job/progress', { job: ctx.job, ...step, etaSeconds });
  };
}
