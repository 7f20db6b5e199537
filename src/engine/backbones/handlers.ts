// 'backbone/list' and 'backbone/ensure': what the picker shows, and getting one onto this computer
// with download progress as 'job/progress' events (stage 'download', bytes).
import type { CallContext, ServerHandlers } from '../../shared/rpc';
import { BACKBONES } from './catalog';
import type { DownloadProgress } from './download';
import { importBackbone } from './import';
import { describeBackbone, resolveBackbone, type ResolveOptions } from './resolve';

/** Progress at most every `intervalMs` (and always the last one), with an ETA from the bytes rate so far. */
export function downloadProgressReporter(ctx: Pick<CallContext, 'job' | 'emit'>, name: string, intervalMs = 250, now: () => number = Date.now): (p: DownloadProgress) => void {
  let first: { at: number; done: number } | null = null;
  let last = -Infinity;
  return (p) => {
    const t = now();
    first ??= { at: t, done: p.done };
    if (t - last < intervalMs && p.done < p.total) return;
    last = t;
    const seconds = (t - first.at) / 1000;
    const rate = seconds > 0 ? (p.done - first.done) / seconds : 0;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    ctx.emit('job/progress', {
      job: ctx.job,
      stage: 'download',
      done: p.done,
      total: p.total,
      etaSeconds: rate > 0 ? Math.round((p.total - p.done) / rate) : null,
      message: `Downloading ${name}: ${mb(p.done)} of ${mb(p.total)} MB`,
    });
  };
}

export function backboneHandlers(options: Omit<ResolveOptions, 'signal' | 'onProgress'> = {}): Pick<ServerHandlers, 'backbone/list' | 'backbone/ensure' | 'backbone/import'> {
  return {
    'backbone/list': async () => BACKBONES.map((b) => describeBackbone(b.id, options)),
    'backbone/ensure': async ({ id }, ctx) => {
      const { spec } = await resolveBackbone(id, {
        ...options,
        signal: ctx.signal,
        onProgress: downloadProgressReporter(ctx, describeBackbone(id, options).name),
      });
      return describeBackbone(spec.id, options);
    },
    'backbone/import': async ({ id, folder }) => {
      await importBackbone(id, folder, options);
      return describeBackbone(id, options);
    },
  };
}
