import type { ExportFormat } from '../../../shared/types';
import { CopyPathButton } from '../../components/CopyPath';
import { Message } from '../../components/Message';
import { ProgressBar } from '../../components/ProgressBar';
import { getApi } from '../../ipc';
import { formatDuration, formatPercent, plural } from '../../lib/format';
import { useApp } from '../../store';
import { defaultExportDir } from '../../store/export';

const FORMATS: Record<ExportFormat, { name: string; what: string }> = {
  tfjs: { name: 'TensorFlow.js', what: 'for websites and Node.js (model.json + weights)' },
  onnx: { name: 'ONNX', what: 'for Python, C#, C++, Java and most other tools (one .onnx file)' },
  tflite: { name: 'TFLite', what: 'for Android apps (MediaPipe, LiteRT): one .tflite file, labels inside' },
  'tflite-fp16': { name: 'TFLite, half size', what: 'for Android apps at half the size (float16 weights; answers differ very slightly)' },
};

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
        <label className="row">
          <span>Format</span>
          <select data-testid="export-format" value={exporting.format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
            {(Object.keys(FORMATS) as ExportFormat[]).map((f) => (
              <option key={f} value={f}>
                {FORMATS[f].name}
              </option>
            ))}
          </select>
          <span className="muted">{FORMATS[exporting.format].what}</span>
        </label>
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
          Export {FORMATS[exporting.format].name}
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
        <div className={`message ${result.verified.agreement >= 1 ? 'message-good' : 'message-warning'}`} data-testid="export-result" role="status">
          <strong>
            {formatPercent(result.verified.agreement)} agreement on {plural(result.verified.images, 'checking photo')}
          </strong>{' '}
          — the exported {FORMATS[result.format].name} model predicts {result.verified.agreement >= 1 ? 'exactly' : 'almost exactly'} what Foldwise predicts (largest difference in a
          probability: {result.verified.maxAbsDiff.toExponential(1)}).
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
