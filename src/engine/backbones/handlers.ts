// 'backbone/list' and 'backbone/ensure': what the picker shows, and getting one onto this computer
// with download progress as 'job/progress' events (stage 'download', bytes).
import type { CallContext, ServerHandlers } from '../../shared/rpc';
import { progressReporter } from '../progress';
import { BACKBONES } from './catalog';
import type { DownloadProgress } from './download';
import { importBackbone } from './import';
import { describeBackbone, resolveBackbone, type ResolveOptions } from './resolve';

/** Download progress in bytes, with the megabytes in words (the rpc boundary rate-limits it and adds the time left). */
export function downloadProgressReporter(ctx: Pick<CallContext, 'job' | 'emit'>, name: string): (p: DownloadProgress) => void {
  const send = progressReporter(ctx);
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
