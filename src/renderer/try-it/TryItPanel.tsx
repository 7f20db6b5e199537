// Drop any photo and see what the trained model says about it, with its heatmap.
import { useRef, useState } from 'react';
import { HeatmapLegend } from '../components/HeatmapLegend';
import { Message } from '../components/Message';
import { useFileDrop } from '../lib/file-drop';
import { formatPercent } from '../lib/format';
import { useApp } from '../store';
import { currentRunDir } from '../store/review';

export function TryItPanel() {
  const tryIt = useApp((s) => s.tryIt);
  const hasModel = useApp((s) => currentRunDir(s) !== null);
  const setOpen = useApp((s) => s.setTryItOpen);
  const tryPhoto = useApp((s) => s.tryPhoto);
  const input = useRef<HTMLInputElement>(null);
  const [showHeatmap, setShowHeatmap] = useState(true);
  const take = (file: File | undefined) => {
    if (!file) return;
    void tryPhoto(file, URL.createObjectURL(file));
  };
  const { over, dropProps } = useFileDrop(take);
  if (!tryIt.open) return null;

  const ranked = Object.entries(tryIt.prediction?.probabilities ?? {}).sort((a, b) => b[1] - a[1]);

  return (
    <aside className="try-it" aria-label="Try the model" data-testid="try-it">
      <div className="row">
        <h2 className="grow">Try it</h2>
        <button type="button" className="small" onClick={() => setOpen(false)} aria-label="Close Try it">
          ✕
        </button>
      </div>
      {!hasModel ? (
        <p className="hint">Train a model first; then drop any photo here to see what it says.</p>
      ) : (
        <>
          <div className={`drop-target${over ? ' drop-over' : ''}`} {...dropProps}>
            <p>Drop a photo here, or</p>
            <button type="button" onClick={() => input.current?.click()}>
              Choose a photo…
            </button>
            <input ref={input} type="file" accept="image/*" hidden data-testid="try-it-file" onChange={(e) => take(e.target.files?.[0])} />
          </div>
          {tryIt.preview && (
            <div className="try-image">
              {/* The heatmap is already blended over the model's square centre crop, so it replaces the photo rather than covering it. */}
              {showHeatmap && tryIt.heatmap ? (
                <img className="heatmap" src={`data:image/png;base64,${tryIt.heatmap}`} alt="your photo, coloured where the model looked" />
              ) : (
                <img src={tryIt.preview} alt={tryIt.name ?? 'your photo'} />
              )}
            </div>
          )}
          {tryIt.status === 'running' && <p className="muted">Asking the model…</p>}
          {tryIt.error && <Message kind="error">{tryIt.error}</Message>}
          {tryIt.prediction?.label && (
            <div data-testid="try-it-result" aria-live="polite">
              <p className="big-answer">
                {tryIt.prediction.label} <span className="muted">{formatPercent(tryIt.prediction.probabilities?.[tryIt.prediction.label] ?? 0, 0)}</span>
              </p>
              <ul className="plain bars">
                {ranked.map(([label, p]) => (
                  <li key={label}>
                    <span className="bar-label">{label}</span>
                    <span className="bar">
                      <span style={{ width: `${(p * 100).toFixed(1)}%` }} />
                    </span>
                    <span className="muted small">{formatPercent(p, 0)}</span>
                  </li>
                ))}
              </ul>
              {tryIt.heatmap && (
                <label className="checkbox small">
                  <input type="checkbox" checked={showHeatmap} onChange={(e) => setShowHeatmap(e.target.checked)} /> Show where it looked
                </label>
              )}
              {tryIt.heatmap && showHeatmap && <HeatmapLegend label={tryIt.prediction.label} />}
            </div>
          )}
        </>
      )}
    </aside>
  );
}
