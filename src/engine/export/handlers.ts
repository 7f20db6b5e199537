// 'model/export' and 'model/predict' of the engine contract, with progress events and cancel.
import type { CallContext, ServerHandlers } from '../../shared/rpc';
import type { Progress } from '../../shared/types';
import { exportModel } from './export';
import { predictFiles } from './predict';
import { createPredictor } from './predictor';

/** Sends progress at most every 250 ms, plus the last step, with a simple ETA. */
function progressSender(ctx: CallContext) {
  const started = Date.now();
  let sentAt = 0;
  return (stage: Progress['stage'], done: number, total: number, message?: string) => {
    const now = Date.now();
    if (now - sentAt < 250 && done < total) return;
    sentAt = now;
    const elapsed = (now - started) / 1000;
    const etaSeconds = done > 0 && total > done ? Math.round((elapsed / done) * (total - done)) : null;
    ctx.emit('job/progress', { job: ctx.job, stage, done, total, etaSeconds, message });
  };
}

export function exportHandlers(): Pick<Partial<ServerHandlers>, 'model/export' | 'model/predict'> {
  return {
    'model/export': async ({ runDir, format, out }, ctx) => {
      const send = progressSender(ctx);
      const report = await exportModel(runDir, { format, out, signal: ctx.signal, onProgress: (p) => send(p.stage, p.done, p.total, p.message) });
      return { format: report.format, out: report.out, files: report.files, seconds: report.seconds, verified: report.verified };
    },
    'model/predict': async ({ model, files }, ctx) => {
      const send = progressSender(ctx);
      const predictor = await createPredictor(model);
      try {
        return await predictFiles(predictor, files, { signal: ctx.signal, onProgress: (done, total) => send('predict', done, total) });
      } finally {
        predictor.dispose();
      }
    },
  };
}
