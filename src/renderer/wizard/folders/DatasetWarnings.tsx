// Duplicates, leaks between training and checking photos, and other warnings, in plain words.
import type { DatasetSummary } from '../../../shared/types';
import { Message } from '../../components/Message';
import { plural } from '../../lib/format';
import { useApp } from '../../store';

export function DatasetWarnings({ summary }: { summary: DatasetSummary }) {
  const excluded = useApp((s) => s.edits.exclude);
  const excludeFiles = useApp((s) => s.excludeFiles);
  const groups = summary.duplicates;
  const crossSplit = groups.filter((g) => g.crossSplit);
  const crossClass = groups.filter((g) => g.crossClass);
  // Keep the first copy of each group; the rest would be counted twice (or, across splits, checked on photos it learned from).
  const extras = groups.flatMap((g) => g.files.slice(1)).filter((f) => !excluded.includes(f));

  return (
    <div className="stack">
      {summary.warnings.map((w, i) => (
        <Message key={`${w.kind}-${i}`} kind={w.kind === 'too-few-images' || w.kind === 'one-class' ? 'error' : 'warning'} testId="dataset-warning">
          {w.message}
        </Message>
      ))}
      {groups.length > 0 && (
        <Message kind="warning" testId="duplicate-warning">
          Foldwise found {plural(groups.length, 'set')} of duplicate photos
          {/* The engine's own warnings explain labels and leaks; say it here only when it did not. */}
          {crossClass.length && !summary.warnings.some((w) => w.kind === 'label-conflict') ? `; ${crossClass.length} of them appear under different labels` : ''}
          {crossSplit.length && !summary.warnings.some((w) => w.kind === 'leak')
            ? `; ${crossSplit.length} sit in both the photos to learn from and the photos to check with, which makes the score look better than it is (a leak)`
            : ''}
          .{' '}
          {extras.length > 0 ? (
            <button type="button" className="small" onClick={() => excludeFiles(extras)}>
              Keep one copy of each ({plural(extras.length, 'file')} excluded)
            </button>
          ) : (
            <span className="muted">Extra copies are excluded.</span>
          )}
          <details>
            <summary>Show the duplicates</summary>
            <ul className="mono small">
              {groups.slice(0, 50).map((g) => (
                <li key={g.files.join('|')}>
                  {g.files.join('  =  ')}
                  {g.crossClass ? ' (different labels)' : ''}
                  {g.crossSplit ? ' (leak)' : ''}
                </li>
              ))}
            </ul>
          </details>
        </Message>
      )}
    </div>
  );
}
