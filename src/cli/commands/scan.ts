// `foldwise scan <folder>`: what is in a photo folder, and what is wrong with it. A summary for
// people (with a progress bar on a terminal), or exactly one JSON object with --json.
import type { Command } from 'commander';
import type { DatasetSummary } from '../../shared/types';
import { startLocalEngine } from '../engine';
import { runJob } from '../job';
import { reportFailure } from '../output';

/** How many problems/duplicates the text summary lists (--json always carries all). */
const ROWS = 10;

function more(total: number): string {
  return total > ROWS ? `\n  … and ${total - ROWS} more (use --json to see all)` : '';
}

/** The scan as text a person can read in a terminal. */
export function formatScan(s: DatasetSummary): string {
  const width = Math.max(5, ...s.classes.map((c) => c.name.length));
  const num = (n: number) => String(n).padStart(6);
  const classRows = s.classes.map((c) => `  ${c.name.padEnd(width)}${num(c.images.train)}${num(c.images.valid)}${num(c.images.test)}`);
  const splitNote = s.splitFromFolders ? 'split taken from the folders' : 'validation photos picked automatically (stable per file)';
  const lines = [
    `Folder: ${s.root}`,
    `Layout: ${s.layout === 'splits' ? 'train/valid/test folders' : 'one folder per class'}; ${splitNote}`,
    `${s.classes.length} class${s.classes.length === 1 ? '' : 'es'}, ${s.images} usable photo${s.images === 1 ? '' : 's'}` +
      `${s.problems.length ? `, ${s.problems.length} with problems` : ''}${s.ignored ? `, ${s.ignored} other file${s.ignored === 1 ? '' : 's'} skipped` : ''}`,
    '',
  ];
  if (s.classes.length) lines.push(`  ${'class'.padEnd(width)}${'train'.padStart(6)}${'valid'.padStart(6)}${'test'.padStart(6)}`, ...classRows, '');
  if (s.problems.length) {
    lines.push(`Problems (${s.problems.length})`, ...s.problems.slice(0, ROWS).map((p) => `  [${p.kind}] ${p.message}`));
    lines.push(...(more(s.problems.length) ? [more(s.problems.length).slice(1)] : []), '');
  }
  if (s.duplicates.length) {
    const conflicts = s.duplicates.filter((d) => d.crossClass).length;
    const leaks = s.duplicates.filter((d) => d.crossSplit).length;
    lines.push(`Duplicates (${s.duplicates.length} groups; ${conflicts} across classes, ${leaks} across splits)`);
    for (const d of s.duplicates.slice(0, ROWS)) {
      const flags = [d.exact ? 'identical' : 'near copy', ...(d.crossClass ? ['label conflict'] : []), ...(d.crossSplit ? ['train/valid leak'] : [])];
      lines.push(`  ${d.files.join(' = ')} (${flags.join(', ')})`);
    }
    lines.push(...(more(s.duplicates.length) ? [more(s.duplicates.length).slice(1)] : []), '');
  }
  if (s.warnings.length) lines.push('Warnings', ...s.warnings.map((w) => `  - ${w.message}`), '');
  if (!s.problems.length && !s.duplicates.length && !s.warnings.length) lines.push('No problems found.', '');
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('scan')
    .description('Check a folder of photos: classes, splits, unreadable files, duplicates and warnings.')
    .argument('<folder>', 'a folder with one sub-folder per class, or train/valid/test folders holding class folders')
    .option('--json', 'print one JSON object instead of a summary')
    .option('--valid <fraction>', 'share of photos held out for validation when the folders give no split', '0.2')
    .action(async (folder: string, opts: { json?: boolean; valid: string }) => {
      const json = Boolean(opts.json);
      const validFraction = Number(opts.valid);
      if (!(validFraction >= 0 && validFraction < 1)) {
        reportFailure(new Error(`--valid must be a number from 0 to 1 (e.g. 0.2), not "${opts.valid}".`), json);
        return;
      }
      const client = startLocalEngine();
      await runJob(client, client.call('dataset/scan', { root: folder, validFraction }), { json, format: formatScan });
    });
}
