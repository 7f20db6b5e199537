import { EXPORT_FORMATS, exportFormatInfo } from '../../../shared/export-formats';
import type { ExportResult } from '../../../shared/types';
import { CopyPathButton } from '../../components/CopyPath';
import { Message } from '../../components/Message';
import { ProgressBar } from '../../components/ProgressBar';
import { getApi } from '../../ipc';
import { formatDuration, formatPercent, plural } from '../../lib/format';
import { useApp } from '../../store';
import { defaultExportDir } from '../../store/export';

export function ExportStep() {
  const exporting = useApp((s) => s.exporting);
  const defaultOut = useApp((s) => defaultExportDir(s, s.exporting.format));
  const progress = useApp((s) => (s.exporting.job ? s.progress[s.exporting.job] : undefined));
  const setFormat = useApp((s) => s.setExportFormat);
  const setOut = useApp((s) => s.setExportOut);
  const exportModel = useApp((s) => s.exportModel);
  const cancelExport = useApp((s) => s.cancelExport);
  const addNotice = useApp((s) => s.addNotice);
  const running = exporting.status === 'running';
  const result = exporting.result;
  const canOpenFolders = getApi().shell === 'electron';

  const openFolder = async (dir: string) => {
    if (!(await getApi().showInFolder(dir))) addNotice({ level: 'info', message: `This window cannot open your file manager. The model is in ${dir}` });
  };

  return (
    <div className="stack">
      <fieldset disabled={running} className="stack">
        <legend>Format and destination</legend>
        <div className="format-list" role="radiogroup" aria-label="Where the model will run" data-testid="export-format">
          {EXPORT_FORMATS.map((f) => (
            <label key={f.id} className={`format-option${exporting.format === f.id ? ' chosen' : ''}`} data-testid={`export-format-${f.id}`}>
              <input type="radio" name="export-format" value={f.id} checked={exporting.format === f.id} onChange={() => setFormat(f.id)} />
              <span className="stack-tight">
                <span>
                  <strong>{f.audience}</strong> <span className="muted">· {f.name}</span>
                </span>
                <span className="muted small">{f.what}</span>
              </span>
            </label>
          ))}
        </div>
        <label className="stack-tight">
          <span>Save into this folder</span>
          <input
            type="text"
            className="mono"
            data-testid="export-out"
            spellCheck={false}
            placeholder={defaultOut}
            value={exporting.out}
            onChange={(e) => setOut(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') void exportModel();
            }}
          />
          <span className="hint">Leave empty to save inside this training run: {defaultOut}</span>
        </label>
      </fieldset>
      <div className="row">
        <button type="button" className="primary big" data-testid="export-start" onClick={() => void exportModel()} disabled={running}>
          Export {exportFormatInfo(exporting.format).name}
        </button>
        {running && (
          <button type="button" onClick={cancelExport}>
            Cancel
          </button>
        )}
      </div>
      {running && <ProgressBar progress={progress} label="Writing the model" />}
      {exporting.error && (
        <Message kind="error" title="The export failed." testId="export-error">
          {exporting.error}
        </Message>
      )}
      {result && (
        <div className={`message ${resultTone(result)}`} data-testid="export-result" role="status">
          <CheckSummary result={result} />
          {result.skipped && result.skipped.length > 0 && (
            <details data-testid="export-skipped">
              <summary>
                {plural(result.skipped.length, 'photo')} could not be read and {result.skipped.length === 1 ? 'was' : 'were'} left out
              </summary>
              <ul className="plain small">
                {result.skipped.map((s) => (
                  <li key={`${s.file}-${s.reason}`}>
                    <span className="mono">{s.file}</span>: {s.reason}
                  </li>
                ))}
              </ul>
            </details>
          )}
          <div className="mono small truncate" title={result.out} data-testid="export-path">
            {result.out}
          </div>
          <ul className="plain mono small">
            {result.files.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
          <div className="row">
            {/* A web page cannot open the file manager: there, the path above is the way to the model. */}
            {canOpenFolders ? (
              <button type="button" className="small" onClick={() => void openFolder(result.out)}>
                Open the folder
              </button>
            ) : (
              <CopyPathButton path={result.out} label="Copy the folder's path" />
            )}
            {result.seconds != null && <span className="muted small">took {formatDuration(result.seconds)}</span>}
          </div>
        </div>
      )}
    </div>
  );
}

function resultTone(result: ExportResult): string {
  const v = result.verified;
  if (v.kind === 'structure') return ''; // the plain (blue) message: checked, but not the answers
  return v.agreement >= 1 ? 'message-good' : 'message-warning';
}

/** What was proven about the exported file, in plain words: the app's answers, or (Core ML) only its structure. */
function CheckSummary({ result }: { result: ExportResult }) {
  const v = result.verified;
  const name = exportFormatInfo(result.format).name;
  if (v.kind === 'structure') {
    const [checked, notChecked] = v.summary.split('; ');
    return (
      <>
        <strong>{checked ? checked[0]!.toUpperCase() + checked.slice(1) : v.summary}</strong>
        {notChecked ? `; ${notChecked}.` : '.'} Nothing on this computer can run a {name} model, so whether it gives Foldwise’s answers is not known yet: on a Mac,
        iPhone or iPad, the check in the Swift file beside the model compares it with the answers saved in samples/.
      </>
    );
  }
  return (
    <>
      <strong>
        {formatPercent(v.agreement)} agreement on {plural(v.images, 'checking photo')}
      </strong>{' '}
      {v.agreement >= 1 ? (
        <>
          — the exported {name} model predicts exactly what Foldwise predicts (largest difference in a probability: {v.maxAbsDiff.toExponential(1)}).
        </>
      ) : (
        // A file that rounds its numbers on purpose (float16, 8-bit) may change the class of a photo near a tie.
        <>
          — the exported {name} model picks Foldwise’s class for all but {plural(Math.round(v.images * (1 - v.agreement)), 'photo')}; its probabilities differ from Foldwise’s by{' '}
          {v.meanAbsDiff === undefined ? '' : `${v.meanAbsDiff.toFixed(3)} on average and `}at most {v.maxAbsDiff.toFixed(3)}.
        </>
      )}
    </>
  );
}
