// 'backbone/list' and 'backbone/ensure': what the picker shows, and getting one onto this computer
// with download progress as 'job/progress' events (stage 'download', bytes).
import type { CallContext, ServerHandlers } from '../../shared/rpc';
import { progressThrottle } from '../progress';
import { BACKBONES } from './catalog';
import type { DownloadProgress } from './download';
import { importBackbone } from './import';
import { describeBackbone, resolveBackbone, type ResolveOptions } from './resolve';

/** Download progress in megabytes, at most every `intervalMs` (and always the last one), with an ETA from the byte rate. */
export function downloadProgressReporter(ctx: Pick<CallContext, 'job' | 'emit'>, name: string, intervalMs = 250, now: () => number = Date.now): (p: DownloadProgress) => void {
  const send = progressThrottle(ctx, intervalMs, now);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (p) => send({ stage: 'download', done: p.done, total: p.total, message: `Downloading ${name}: ${mb(p.done)} of ${mb(p.total)} MB` });
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
