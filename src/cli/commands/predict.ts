// `foldwise predict <model> <files or folders...>`: what a run or an exported model says about photos.
import type { Command } from 'commander';
import type { Prediction } from '../../shared/types';
import { startLocalEngine } from '../engine';
import { runJob } from '../job';

export function formatPredictions(rows: Prediction[]): string {
  const width = Math.min(60, Math.max(4, ...rows.map((r) => r.file.length)));
  const lines = [`${'file'.padEnd(width)}  ${'label'.padEnd(16)} probability`];
  for (const r of rows) {
    const file = r.file.length > width ? `…${r.file.slice(-(width - 1))}` : r.file.padEnd(width);
    if (r.error || !r.label || !r.probabilities) lines.push(`${file}  ERROR: ${r.error ?? 'no answer'}`);
    else lines.push(`${file}  ${r.label.padEnd(16)} ${(r.probabilities[r.label]! * 100).toFixed(1)}%`);
  }
  const failed = rows.filter((r) => r.error).length;
  if (failed) lines.push('', `${failed} of ${rows.length} file${rows.length === 1 ? '' : 's'} could not be classified.`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('Classify photos with a training run or an exported model (TF.js folder or .onnx file).')
    .argument('<model>', 'a run folder, an exported model folder, or a .onnx file')
    .argument('<files...>', 'photos or folders of photos')
    .option('--json', 'print JSON [{ file, label, probabilities }] instead of a table')
    .action(async (model: string, files: string[], opts: { json?: boolean }) => {
      const json = Boolean(opts.json);
      const client = startLocalEngine();
      const rows = await runJob(client, client.call('model/predict', { model, files }), { json, format: formatPredictions });
      // Some photos could not be classified: the command ran, but a script should notice.
      if (rows?.some((r) => r.error)) process.exitCode = 2;
    });
}
