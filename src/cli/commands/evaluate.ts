// `foldwise evaluate <run dir>`: how a trained model does on the validation photos, and which photos
// deserve a look. Tables for people; one JSON object with --json.
import type { Command } from 'commander';
import type { Interpretation, ReviewItem } from '../../shared/types';
import { startLocalEngine } from '../engine';
import { runJob } from '../job';

/** How many rows of each image list the tables show (--json always carries all of them). */
const ROWS = 10;

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

const looksNumeric = (cell: string) => /^[\d.%]+$/.test(cell);

/** Numbers right-aligned, words left-aligned, one column per header. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => looksNumeric(r[c]!)));
  const line = (cells: string[]) => `  ${cells.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function imageList(title: string, items: ReviewItem[], empty: string): string {
  if (items.length === 0) return `${title}\n  ${empty}`;
  const rows = items.slice(0, ROWS).map((i) => [i.file, i.actual, i.predicted, percent(i.probability), i.loss.toFixed(2), i.margin.toFixed(2)]);
  const more = items.length > ROWS ? `\n  … and ${items.length - ROWS} more (use --json to see all)` : '';
  return `${title}\n${table(['image', 'actual', 'predicted', 'sure', 'loss', 'margin'], rows)}${more}`;
}

/** The review as text a person can read in a terminal. */
export function formatReview(review: Interpretation): string {
  const total = review.predictions.length;
  const correct = review.confusion.reduce((sum, row, k) => sum + row[k]!, 0);
  const matrix = table(
    ['actual \\ predicted', ...review.classes],
    review.confusion.map((row, k) => [review.classes[k]!, ...row.map(String)]),
  );
  const perClass = table(
    ['class', 'precision', 'recall', 'F1', 'images'],
    review.perClass.map((c) => [c.name, percent(c.precision), percent(c.recall), c.f1.toFixed(3), String(c.support)]),
  );
  const confused =
    review.mostConfused.length === 0
      ? '  none: every validation photo was classified correctly'
      : review.mostConfused
          .slice(0, ROWS)
          .map((p) => `  ${p.actual} taken for ${p.predicted}: ${p.count} photo${p.count === 1 ? '' : 's'}`)
          .join('\n');
  return [
    `Run: ${review.runDir}`,
    `Accuracy on the validation photos: ${percent(review.accuracy)} (${correct} of ${total})`,
    '',
    'Confusion matrix (rows: actual class, columns: predicted class)',
    matrix,
    '',
    'Per class',
    perClass,
    '',
    'Most confused',
    confused,
    '',
    imageList('Top losses (the most confident mistakes)', review.topLosses, 'none: no mistakes on the validation photos'),
    '',
    imageList('Most uncertain (smallest margin between the top two classes)', review.uncertain, 'none'),
    '',
    imageList(
      'Likely mislabelled training photos (check the folder they are in)',
      review.likelyMislabelled,
      'none found: the model agrees with the training labels',
    ),
    '',
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('Review a trained model: confusion matrix, per-class scores, top losses, uncertain and likely mislabelled photos.')
    .argument('<run dir>', 'the run folder written by `foldwise train --out`')
    .option('--json', 'print one JSON object instead of tables')
    .action(async (runDir: string, opts: { json?: boolean }) => {
      const json = Boolean(opts.json);
      const client = startLocalEngine();
      // Evaluating reads the run's saved predictions and does not stop part-way: Ctrl-C just quits.
      await runJob(client, client.call('review/evaluate', { runDir }), { json, format: formatReview, cancelOnInterrupt: false });
    });
}
