// The engine service: every EngineHandler, assembled from each stage's own handlers.
// Heavy jobs run one at a time so two trainings never fight over the same cores.
import type { ServerHandlers } from '../shared/rpc';
import { describeBackend } from './backend';
import { backboneHandlers } from './backbones/handlers';
import { datasetHandlers } from './dataset/handlers';
import { exportHandlers } from './export/handlers';
import { reviewHandlers } from './interpret/handlers';
import { projectHandlers } from './project/handlers';
import { trainHandlers } from './train/handlers';

const heavy = new Set<keyof ServerHandlers>(['dataset/scan', 'train/find-lr', 'train/run', 'train/estimate-fine-tune', 'review/evaluate', 'model/export', 'model/predict', 'backbone/ensure']);

export function createService(): Partial<ServerHandlers> {
  const handlers: Partial<ServerHandlers> = {
    'engine/info': async () => describeBackend(),
    ...datasetHandlers(),
    ...backboneHandlers(),
    ...trainHandlers(),
    ...reviewHandlers(),
    ...exportHandlers(),
    ...projectHandlers(),
  };
  let queue: Promise<unknown> = Promise.resolve();
  for (const name of Object.keys(handlers) as (keyof ServerHandlers)[]) {
    if (!heavy.has(name)) continue;
    const run = handlers[name] as (a: unknown, c: unknown) => Promise<unknown>;
    (handlers as Record<string, unknown>)[name] = (args: unknown, ctx: unknown) => {
      const next = queue.then(() => run(args, ctx));
      queue = next.catch(() => undefined);
      return next;
    };
  }
  return handlers;
}
