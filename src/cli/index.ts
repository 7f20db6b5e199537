#!/usr/bin/env node
// `foldwise`: the engine from a terminal. Each command lives in commands/ and registers itself here.
import { Command } from 'commander';
import { register as evaluate } from './commands/evaluate';
import { register as exportModel } from './commands/export';
import { register as heatmap } from './commands/heatmap';
import { register as lrFind } from './commands/lr-find';
import { register as predict } from './commands/predict';
import { register as scan } from './commands/scan';
import { register as serve } from './commands/serve';
import { register as train } from './commands/train';

const program = new Command()
  .name('foldwise')
  .description('Train image classifiers on folders of your own photos.')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError();

for (const register of [scan, lrFind, train, evaluate, heatmap, exportModel, predict, serve]) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`foldwise: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
