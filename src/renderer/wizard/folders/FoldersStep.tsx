import type { DatasetSummary } from '../../../shared/types';
import { Message } from '../../components/Message';
import { CancellableProgress } from '../../components/ProgressBar';
import { plural } from '../../lib/format';
import { useApp } from '../../store';
import { classesWithImages } from '../../store/dataset';
import { ClassCards } from './ClassCards';
import { DatasetWarnings } from './DatasetWarnings';
import { PathPicker } from './PathPicker';
import { ProblemsList } from './ProblemsList';
import { SplitChoice } from './SplitChoice';

function summaryLine(summary: DatasetSummary, excluded: number): string {
  const sum = (key: 'train' | 'valid' | 'test') => summary.classes.reduce((n, c) => n + c.images[key], 0);
  const parts = [
    `${plural(summary.images, 'photo')} in ${plural(classesWithImages(summary), 'class', 'classes')}`,
    `${sum('train').toLocaleString('en')} to learn from, ${sum('valid').toLocaleString('en')} to check with${sum('test') ? `, ${sum('test').toLocaleString('en')} for a final test` : ''}`,
  ];
  if (summary.problems.length) parts.push(plural(summary.problems.length, 'problem file'));
  if (summary.ignored) parts.push(`${plural(summary.ignored, 'other file')} ignored`);
  if (excluded) parts.push(`${excluded} excluded by you`);
  return parts.join(' · ');
}

function RecentProjects() {
  const recent = useApp((s) => s.recent);
  const openProject = useApp((s) => s.openProject);
  if (recent.length === 0) return null;
  return (
    <section className="recent">
      <h3>Continue where you left off</h3>
      <ul className="plain">
        {recent.slice(0, 5).map((p) => (
          <li key={p.dir}>
            <button type="button" className="link" onClick={() => void openProject(p.dir)}>
              {p.name}
            </button>{' '}
            <span className="muted small mono">{p.dir}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function FoldersStep() {
  const scan = useApp((s) => s.scan);
  const summary = useApp((s) => s.summary);
  const progress = useApp((s) => (s.scan.job ? s.progress[s.scan.job] : undefined));
  const cancelScan = useApp((s) => s.cancelScan);
  const excludedCount = useApp((s) => s.edits.exclude.length);

  return (
    <div className="stack">
      <PathPicker />
      {scan.status === 'running' && <CancellableProgress progress={progress} label="Checking photos" onCancel={cancelScan} />}
      {scan.error && (
        <Message kind="error" title="Foldwise could not read that folder." testId="scan-error">
          {scan.error}
        </Message>
      )}
      {!summary && scan.status !== 'running' && <RecentProjects />}
      {summary && (
        <>
          <p className="summary" data-testid="scan-summary" aria-live="polite">
            {summaryLine(summary, excludedCount)}
          </p>
          <ClassCards classes={summary.classes} />
          <DatasetWarnings summary={summary} />
          <SplitChoice summary={summary} />
          <ProblemsList root={summary.root} problems={summary.problems} />
        </>
      )}
    </div>
  );
}
