// `foldwise export <run dir> --format <format> --out <dir>`: one self-contained model, checked
// before it is put in place: against the app's own predictions, or (Core ML, which nothing here can
// run) for structure by Apple's validator.
import type { Command } from 'commander';
import { EXPORT_FORMATS, exportFormatInfo } from '../../shared/export-formats';
import type { ExportFormat, ExportResult } from '../../shared/types';
import { startLocalEngine } from '../engine';
import { runJob } from '../job';
import { reportFailure } from '../output';

/** Photos that could not be read, each named with why (the first 10; --json has all). */
function skippedLines(skipped: { file: string; reason: string }[]): string[] {
  if (skipped.length === 0) return [];
  const more = skipped.length > 10 ? [`  … and ${skipped.length - 10} more (use --json to see all)`] : [];
  return [`${skipped.length} photo${skipped.length === 1 ? '' : 's'} could not be read and ${skipped.length === 1 ? 'was' : 'were'} left out:`, ...skipped.slice(0, 10).map((s) => `  ${s.file}: ${s.reason}`), ...more];
}

export function formatExport(r: ExportResult): string {
  const v = r.verified;
  const info = exportFormatInfo(r.format);
  return [
    `Exported ${info.name} model (${info.audience}) to ${r.out}${r.seconds === undefined ? '' : ` in ${r.seconds.toFixed(1)} s`}`,
    v.kind === 'structure'
      ? `${v.summary[0]!.toUpperCase()}${v.summary.slice(1)}. ${v.checker} says ${v.answer}.`
      : `Verified on ${v.images} validation photos: same answer as the app for ${(v.agreement * 100).toFixed(1)}%, probabilities within ${v.maxAbsDiff.toExponential(1)}` +
        (v.meanAbsDiff === undefined ? '' : ` (${v.meanAbsDiff.toExponential(1)} on average)`),
    ...skippedLines(r.skipped ?? []),
    'Files:',
    ...r.files.map((f) => `  ${f}`),
    '',
  ].join('\n');
}

const formatList = () => EXPORT_FORMATS.map((f) => `  ${f.id.padEnd(12)} ${f.audience}: ${f.what}`).join('\n');

export function register(program: Command): void {
  program
    .command('export')
    .description('Export a trained run as one model (backbone + head, preprocessing inside) that other apps can use, checked against the app.')
    .argument('<run>', 'the folder of a finished training run')
    .requiredOption('--out <dir>', 'folder to write (new, empty, or an earlier export to replace)')
    .option('--format <format>', EXPORT_FORMATS.map((f) => `${f.id} (${f.audience})`).join(', '), 'tfjs')
    .option('--json', 'print one JSON object instead of a summary')
    .addHelpText('after', () => `\nFormats:\n${formatList()}\n`)
    .action(async (runDir: string, opts: { out: string; format: string; json?: boolean }) => {
      const json = Boolean(opts.json);
      if (!EXPORT_FORMATS.some((f) => f.id === opts.format)) {
        reportFailure(new Error(`--format must be one of ${EXPORT_FORMATS.map((f) => f.id).join(', ')}, not "${opts.format}".\n${formatList()}`), json);
        return;
      }
      const client = startLocalEngine();
      await runJob(client, client.call('model/export', { runDir, format: opts.format as ExportFormat, out: opts.out }), { json, format: formatExport });
    });
}
