// `foldwise lr-find <folder>`: the learning-rate range test on the folder's cached features.
import type { Command } from 'commander';
import { DEFAULT_BACKBONE } from '../../shared/defaults';
import type { LrCurve } from '../../shared/types';
import { startLocalEngine } from '../engine';
import { runJob } from '../job';
import { reportFailure } from '../output';

const BARS = '▁▂▃▄▅▆▇█';

/** The curve as one line of bars (log-spaced learning rates left to right) plus the suggestions. */
export function formatLrCurve(result: LrCurve): string {
  const losses = result.curve.map((p) => p.loss);
  const low = Math.min(...losses);
  // The final blow-up would flatten everything else: cap the scale at twice the starting loss.
  const high = Math.min(Math.max(...losses), 2 * (losses[0] ?? 1));
  const bars = losses.map((l) => BARS[Math.min(BARS.length - 1, Math.floor(((l - low) / (high - low || 1)) * BARS.length))]).join('');
  const first = result.curve[0]?.lr ?? 0;
  const last = result.curve.at(-1)?.lr ?? 0;
  const row = (name: keyof LrCurve['suggestions']) => `  ${name.padEnd(8)} ${result.suggestions[name].toExponential(2)}${name === result.chosen ? '  <- suggested' : ''}`;
  return [
    `Loss while the learning rate grows from ${first.toExponential(0)} to ${last.toExponential(0)}:`,
    `  ${bars}`,
    '',
    'Suggestions:',
    row('valley'),
    row('steep'),
    row('minimum'),
    '',
    `Use it with: foldwise train <folder> --lr ${Number(result.suggestion.toPrecision(2))}`,
    '',
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('lr-find')
    .description('Find a good learning rate for a folder of photos (the learning-rate range test).')
    .argument('<folder>', 'a folder with one sub-folder per class, or train/valid/test folders')
    .option('--backbone <id>', 'backbone to compute features with', DEFAULT_BACKBONE)
    .option('--seed <n>', 'random seed: the same seed gives the same curve', '42')
    .option('--json', 'print one JSON object: { suggestion, suggestions, curve: [{ lr, loss }] }')
    .action(async (folder: string, opts: { backbone: string; seed: string; json?: boolean }) => {
      const json = Boolean(opts.json);
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed)) return reportFailure(new Error(`--seed must be a whole number, not "${opts.seed}".`), json);
      const client = startLocalEngine();
      await runJob(client, client.call('train/find-lr', { root: folder, backbone: opts.backbone, seed }), { json, format: formatLrCurve });
    });
}
