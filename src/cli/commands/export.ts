// `foldwise export <run dir> --format tfjs|onnx --out <dir>`: one self-contained model, checked
// against the app's own predictions before it is put in place.
import type { Command } from 'commander';
import type { ExportResult } from '../../shared/types';
import { startLocalEngine } from '../engine';
import { runJob } from '../job';
import { reportFailure } from '../output';

export function formatExport(r: ExportResult): string {
  const v = r.verified;
  return [
    `Exported ${r.format === 'tfjs' ? 'TensorFlow.js' : 'ONNX'} model to ${r.out}${r.seconds === undefined ? '' : ` in ${r.seconds.toFixed(1)} s`}`,
    `Verified on ${v.images} validation photos: same answer as the app for ${(v.agreement * 100).toFixed(1)}%, probabilities within ${v.maxAbsDiff.toExponential(1)}`,
    'Files:',
    ...r.files.map((f) => `  ${f}`),
    '',
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('export')
    .description('Export a trained run as one model (backbone + head, preprocessing inside) that other apps can use, checked against the app.')
    .argument('<run>', 'the folder of a finished training run')
    .requiredOption('--out <dir>', 'folder to write (new, empty, or an earlier export to replace)')
    .option('--format <format>', 'tfjs or onnx', 'tfjs')
    .option('--json', 'print one JSON object instead of a summary')
    .action(async (runDir: string, opts: { out: string; format: string; json?: boolean }) => {
      const json = Boolean(opts.json);
      if (opts.format !== 'tfjs' && opts.format !== 'onnx') {
        reportFailure(new Error(`--format must be tfjs or onnx, not "${opts.format}".`), json);
        return;
      }
      const client = startLocalEngine();
      await runJob(client, client.call('model/export', { runDir, format: opts.format, out: opts.out }), { json, format: formatExport });
    });
}
