import { useDeferredValue, useEffect, useState } from 'react';
import { DEFAULT_EPOCHS } from '../../../shared/defaults';
import type { EpochMetrics, FineTuneChoice } from '../../../shared/types';
import { BackendBadge } from '../../components/BackendBadge';
import { Message } from '../../components/Message';
import { ProgressBar } from '../../components/ProgressBar';
import { formatDuration, formatPercent, formatRate } from '../../lib/format';
import { useApp } from '../../store';
import type { EstimateState } from '../../store/train';
import { AccuracyChart, LossChart, epochX } from './TrainCharts';

/** Seconds since `since`, ticking once a second while `live`. */
function useElapsed(since: number | null, until: number | null, live: boolean): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);
  if (since == null) return null;
  return ((until ?? (live ? now : Date.now())) - since) / 1000;
}

/** An engine estimate as a sentence (its method on hover), or what is happening instead. */
function EstimateLine({ state, testId }: { state: EstimateState; testId: string }) {
  return (
    <span className="hint" data-testid={testId} aria-live="polite">
      {state.status === 'running' && 'Timing a few steps to work out what that costs on this machine…'}
      {state.status === 'done' && state.value && <span title={state.value.method}>{state.value.message}</span>}
      {state.status === 'error' && `Foldwise could not estimate the cost: ${state.error}`}
    </span>
  );
}

function Settings({ disabled }: { disabled: boolean }) {
  const settings = useApp((s) => s.trainSettings);
  const setSettings = useApp((s) => s.setTrainSettings);
  const estimates = useApp((s) => s.estimates);
  const estimateFineTune = useApp((s) => s.estimateFineTune);
  const onGraphicsCard = useApp((s) => s.backend?.badge === 'GPU');
  // Two starting models side by side have no "last layers" of their own: automatic means none then.
  const topPossible = useApp((s) => s.backbones.find((b) => b.id === s.backbone)?.tunableTop ?? true);
  // The recommended choice's cost is shown from the start; it takes a second or two to measure.
  useEffect(() => {
    if (topPossible && estimates.top.status === 'idle') void estimateFineTune('top');
  }, [topPossible, estimates.top.status, estimateFineTune]);
  const choice = settings.fineTune;
  const choose = (fineTune: FineTuneChoice) => () => setSettings({ fineTune });
  return (
    <fieldset className="train-settings" disabled={disabled}>
      <legend>Settings</legend>
      <label className="row">
        <span>Epochs (passes over your photos; fewer for thousands of photos unless you set them)</span>
        <input
          type="number"
          data-testid="train-epochs"
          min={1}
          max={100}
          value={settings.epochs ?? DEFAULT_EPOCHS}
          onChange={(e) => {
            const n = Math.round(Number(e.target.value));
            if (n >= 1 && n <= 100) setSettings({ epochs: n });
          }}
          className="narrow"
        />
      </label>
      <div role="radiogroup" aria-label="Fine-tuning" className="stack-tight">
        <span>Then adjust the photo model itself to your photos (kept only if it does better on the checking photos):</span>
        <label className="checkbox">
          <input type="radio" name="fine-tune" data-testid="fine-tune-off" checked={choice === 'off' || (choice === 'auto' && !topPossible)} onChange={choose('off')} />
          No: quickest, for a quick retrain
        </label>
        <label className="checkbox">
          <input
            type="radio"
            name="fine-tune"
            data-testid="fine-tune-top"
            disabled={!topPossible}
            checked={topPossible && (choice === 'top' || choice === 'auto')}
            onChange={choose('top')}
          />
          {topPossible
            ? `Its last layers (recommended${choice === 'auto' ? '; skipped when it would take too long' : ''})`
            : 'Its last layers (needs a single starting model: pick one under Starting model in Find the learning rate)'}
        </label>
        {topPossible && <EstimateLine state={estimates.top} testId="fine-tune-estimate-top" />}
        <label className="checkbox">
          <input type="radio" name="fine-tune" data-testid="fine-tune-whole" checked={choice === 'whole'} onChange={choose('whole')} />
          All of it{onGraphicsCard ? '' : ' (slow without a graphics card)'}
        </label>
        {choice === 'whole' && <EstimateLine state={estimates.whole} testId="fine-tune-estimate-whole" />}
      </div>
    </fieldset>
  );
}

function EpochTable({ epochs, planned, bestEpoch }: { epochs: EpochMetrics[]; planned: number; bestEpoch: number | null }) {
  if (epochs.length === 0) return null;
  // The engine's choice of best epoch wins (it breaks ties its own way); until then, the most accurate.
  const best = epochs.find((e) => bestEpoch != null && epochX(e, planned) === bestEpoch) ?? epochs.reduce((b, e) => (e.accuracy > b.accuracy ? e : b), epochs[0]!);
  return (
    <table className="epoch-table">
      <thead>
        <tr>
          <th scope="col">Epoch</th>
          <th scope="col">Training loss</th>
          <th scope="col">Checking loss</th>
          <th scope="col">Accuracy</th>
          <th scope="col">Time</th>
        </tr>
      </thead>
      <tbody>
        {epochs.map((e) => (
          <tr key={`${e.stage ?? 'head'}-${e.epoch}`} data-testid="epoch-row" className={e === best ? 'best' : undefined}>
            <td>
              {epochX(e, planned)}
              {e.stage === 'fine-tune' ? ' (fine-tune)' : ''}
            </td>
            <td>{e.trainLoss.toFixed(3)}</td>
            <td>{e.validLoss.toFixed(3)}</td>
            <td>{formatPercent(e.accuracy)}</td>
            <td>{formatDuration(e.seconds)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TrainStep() {
  const training = useApp((s) => s.training);
  const chosenLr = useApp((s) => s.lr.chosen);
  const fineTune = useApp((s) => s.trainSettings.fineTune);
  const trainSettingsEpochs = useApp((s) => s.trainSettings.epochs ?? DEFAULT_EPOCHS);
  const restoredRunDir = useApp((s) => s.restoredRunDir);
  const progress = useApp((s) => (s.training.job ? s.progress[s.training.job] : undefined));
  const startTraining = useApp((s) => s.startTraining);
  const togglePause = useApp((s) => s.togglePause);
  const cancelTraining = useApp((s) => s.cancelTraining);
  const live = training.status === 'running' || training.status === 'paused';
  const elapsed = useElapsed(training.startedAt, training.finishedAt, live);

  const { epochs, batches, planned, result } = training;
  // Charts are the costly part of a render: React draws them as interruptible background work, so
  // the numbers and buttons stay responsive while batches stream in.
  const chartBatches = useDeferredValue(batches);
  const chartEpochs = useDeferredValue(epochs);

  const headDone = epochs.filter((e) => (e.stage ?? 'head') === 'head').length;
  const lastBatch = batches[batches.length - 1];
  const fraction = planned > 0 ? Math.min(1, Math.max(headDone, lastBatch?.stage === 'head' ? lastBatch.x : 0) / planned) : 0;
  // The engine's own estimate wins; otherwise extrapolate from the share of epochs done.
  const eta = progress?.etaSeconds ?? (elapsed != null && fraction > 0.02 && fineTune === 'off' ? (elapsed / fraction) * (1 - fraction) : null);

  return (
    <div className="stack">
      <div className="row wrap">
        <BackendBadge detailed />
      </div>
      <Settings disabled={live} />
      <div className="row wrap">
        {!live && (
          <button type="button" className="primary big" data-testid="train-start" onClick={() => void startTraining()}>
            {training.status === 'done' || training.status === 'cancelled' || training.status === 'error' ? 'Train again' : 'Start training'}
          </button>
        )}
        {live && (
          <>
            <button type="button" onClick={() => void togglePause()} data-testid="train-pause">
              {training.status === 'paused' ? 'Resume' : 'Pause'}
            </button>
            <button type="button" onClick={cancelTraining} data-testid="train-cancel">
              Cancel
            </button>
          </>
        )}
        <span className="muted">Learning rate {chosenLr != null ? formatRate(chosenLr) : 'chosen automatically'}</span>
      </div>
      {restoredRunDir && training.status === 'idle' && <p className="hint">This project already has a trained model; you can review it, or train again.</p>}

      {(live || epochs.length > 0) && (
        <div className="row wrap stats" aria-live="polite">
          <span>
            <strong>Epoch</strong> {Math.min(headDone + (live ? 1 : 0), planned)} of {planned}
            {fineTune !== 'off' ? ' (then fine-tuning)' : ''}
          </span>
          <span>
            <strong>Elapsed</strong> {formatDuration(elapsed)}
          </span>
          {live && (
            <span>
              <strong>Left</strong> {eta != null ? `about ${formatDuration(eta)}` : 'working it out…'}
            </span>
          )}
          {training.status === 'paused' && <span className="tag">paused</span>}
        </div>
      )}
      {live && epochs.length === 0 && batches.length === 0 && <ProgressBar progress={progress} label="Getting ready" />}

      {training.error && (
        <Message kind="error" title="Training stopped." testId="train-error">
          {training.error}
        </Message>
      )}
      {training.status === 'cancelled' && <Message kind="info">Training was cancelled. Earlier models are untouched.</Message>}
      {training.status === 'done' && result && (
        <Message kind="info" testId="train-done">
          Done: the model got <strong>{formatPercent(result.valid.accuracy)}</strong> of the {result.images.valid} checking photos right
          {result.test ? ` (${formatPercent(result.test.accuracy)} on the final test photos)` : ''}. Best at epoch {result.bestEpoch}; it took {formatDuration(result.seconds.total)}.
          {result.warnings.map((w) => (
            <span key={w} className="block muted">
              {w}
            </span>
          ))}
        </Message>
      )}

      {/* Drawn from the start (empty until the first batch): mounting charts mid-training would be the one slow frame. */}
      <div className="chart-grid">
        <LossChart batches={chartBatches} epochs={chartEpochs} planned={planned || trainSettingsEpochs} />
        <AccuracyChart epochs={chartEpochs} planned={planned || trainSettingsEpochs} />
      </div>
      <EpochTable epochs={epochs} planned={planned} bestEpoch={result?.bestEpoch ?? null} />
    </div>
  );
}
