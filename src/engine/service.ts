// The engine service: every EngineHandler, assembled from each stage's own handlers. The calls that
// compute are jobs of the compute owner (compute.ts): they run one at a time, in the order asked,
// each on the backend for what it computes, so a heatmap never switches tfjs under a training.
import type { ServerHandlers } from '../shared/rpc';
import { describeBackend, withBackend, type JobNeed } from './compute';
import { backboneHandlers } from './backbones/handlers';
import { datasetHandlers } from './dataset/handlers';
import { exportHandlers } from './export/handlers';
import { plainFsError } from './fs-errors';
import { engineHealth } from './health';
import { reviewHandlers } from './interpret/handlers';
import { projectHandlers } from './project/handlers';
import { trainHandlers } from './train/handlers';

/** Every call that computes, and what it computes. Fine-tuning inside 'train/run' asks for its own phases. */
const JOBS: Partial<Record<keyof ServerHandlers, JobNeed>> = {
  'dataset/scan': 'any',
  'backbone/ensure': 'any',
  'train/find-lr': 'head',
  'train/run': 'head',
  'train/estimate-fine-tune': 'convolutions',
  'review/evaluate': 'any',
  'review/heatmap': 'inference',
  'model/export': 'inference',
  'model/predict': 'inference',
};

export function createService(): Partial<ServerHandlers> {
  const handlers: Partial<ServerHandlers> = {
    'engine/info': async () => describeBackend(),
    'engine/health': async () => engineHealth(),
    ...datasetHandlers(),
    ...backboneHandlers(),
    ...trainHandlers(),
    ...reviewHandlers(),
    ...exportHandlers(),
    ...projectHandlers(),
  };
  for (const [name, need] of Object.entries(JOBS) as [keyof ServerHandlers, JobNeed][]) {
    const run = handlers[name] as ((a: unknown, c: unknown) => Promise<unknown>) | undefined;
    if (!run) continue;
    (handlers as Record<string, unknown>)[name] = (args: unknown, ctx: unknown) => withBackend(need, () => run(args, ctx));
  }
  // A file-system error that no write seam put in words (fs-errors.ts) still leaves as a sentence naming its folder.
  for (const [name, call] of Object.entries(handlers) as [string, (a: unknown, c: unknown) => Promise<unknown>][]) {
    (handlers as Record<string, unknown>)[name] = (args: unknown, ctx: unknown) =>
      call(args, ctx).catch((error: unknown) => {
        throw plainFsError(error);
      });
  }
  return handlers;
}
