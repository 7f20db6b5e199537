// What a training job needs from its caller (the rpc context, or a stand-in in tests and benches),
// and the one way its steps report progress.
import type { CallContext } from '../../shared/rpc';
import type { Progress } from '../../shared/types';

export interface JobContext {
  job: string;
  signal: AbortSignal;
  emit: CallContext['emit'];
  /** Awaited before every batch; resolves at once unless the user paused. */
  waitIfPaused?(): Promise<void>;
}

export function reportProgress(ctx: JobContext, stage: Progress['stage'], done: number, total: number, extra: Partial<Progress> = {}): void {
  ctx.emit('job/progress', { job: ctx.job, stage, done, total, ...extra });
}

/** Seconds since a performance.now() reading. */
export const since = (start: number) => (performance.now() - start) / 1000;
