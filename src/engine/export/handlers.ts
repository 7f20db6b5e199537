// 'model/export' and 'model/predict' of the engine contract, with progress events and cancel.
import type { ServerHandlers } from '../../shared/rpc';
import { progressReporter } from '../progress';
import { exportModel } from './export';
import { predictFiles } from './predict';
import { createPredictor } from './predictor';

export function exportHandlers(): Pick<Partial<ServerHandlers>, 'model/export' | 'model/predict'> {
  return {
    'model/export': async ({ runDir, format, out }, ctx) => {
      const report = await exportModel(runDir, { format, out, signal: ctx.signal, onProgress: progressReporter(ctx) });
      return { format: report.format, out: report.out, files: report.files, seconds: report.seconds, verified: report.verified, skipped: report.skipped };
    },
    'model/predict': async ({ model, files }, ctx) => {
      const send = progressReporter(ctx);
      const predictor = await createPredictor(model);
      try {
        return await predictFiles(predictor, files, { signal: ctx.signal, onProgress: (done, total) => send({ stage: 'predict', done, total }) });
      } finally {
        predictor.dispose();
      }
    },
  };
}
