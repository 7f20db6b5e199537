import { useEffect, useState } from 'react';
import { Message } from '../../components/Message';
import { CancellableProgress } from '../../components/ProgressBar';
import { formatRate } from '../../lib/format';
import { useApp, useAppStore } from '../../store';
import { lrKey } from '../../store/lr';
import { LrChart } from './LrChart';
import { rateWarning } from './rules';

const SUGGESTION_WORDS = { valley: 'the middle of its longest fall', steep: 'its steepest point', minimum: 'a tenth of the rate at its lowest point' } as const;

function BackboneChoice() {
  const backbones = useApp((s) => s.backbones);
  const backbone = useApp((s) => s.backbone);
  const setBackbone = useApp((s) => s.setBackbone);
  if (backbones.length < 2) return null;
  const chosen = backbones.find((b) => b.id === backbone);
  return (
    <div className="stack-tight">
      <label className="row">
        <span>Starting model</span>
        <select value={backbone} onChange={(e) => setBackbone(e.target.value)}>
          {backbones.map((b) => (
            <option key={b.id} value={b.id} disabled={!b.available && b.source === 'missing'}>
              {b.name}
              {b.available ? '' : ' (needs download)'}
            </option>
          ))}
        </select>
      </label>
      {chosen && (
        <p className="hint" data-testid="backbone-description">
          {chosen.description}
        </p>
      )}
    </div>
  );
}

export function LearningRateStep() {
  const store = useAppStore();
  const lr = useApp((s) => s.lr);
  const progress = useApp((s) => (s.lr.job ? s.progress[s.lr.job] : undefined));
  const key = useApp(lrKey);
  const findLearningRate = useApp((s) => s.findLearningRate);
  const chooseLearningRate = useApp((s) => s.chooseLearningRate);
  const cancel = useApp((s) => s.cancelLearningRate);
  const chooseAutomaticRate = useApp((s) => s.chooseAutomaticRate);
  const [typed, setTyped] = useState('');

  // Entering the step runs the finder by itself, unless this exact data already has a curve.
  useEffect(() => {
    const s = store.getState();
    if (s.lr.status !== 'running' && (s.lr.forKey !== key || (!s.lr.curve && s.lr.status !== 'error'))) void s.findLearningRate();
  }, [key, store]);

  const curve = lr.curve;
  const warning = curve ? rateWarning(curve, lr.chosen) : null;
  return (
    <div className="stack">
      <BackboneChoice />
      {lr.status === 'running' && <CancellableProgress progress={progress} label="Trying learning rates" onCancel={cancel} />}
      {lr.status === 'running' && !progress && <p className="hint">The first time, Foldwise looks at every photo once; later steps reuse that work.</p>}
      {lr.error && (
        <Message kind="error" title="The learning-rate finder stopped." testId="lr-error">
          {lr.error}{' '}
          <button type="button" className="small" onClick={() => void findLearningRate()}>
            Try again
          </button>{' '}
          <button type="button" className="small" onClick={chooseAutomaticRate} aria-pressed={lr.auto}>
            Let training choose a rate by itself
          </button>
          {lr.auto && <span> Training will choose its own rate.</span>}
        </Message>
      )}
      {lr.status === 'cancelled' && (
        <p className="hint">
          Cancelled.{' '}
          <button type="button" className="small" onClick={() => void findLearningRate()}>
            Run it again
          </button>
        </p>
      )}
      {curve && (
        <>
          <p className="explain">
            Each point is a short try at one learning rate: where the loss falls fastest, the model learns well; where it shoots up, the steps are too big. Foldwise marked a good rate;
            click anywhere on the curve to choose another (or focus the chart, move with the arrow keys and press Enter).
          </p>
          <LrChart curve={curve} chosen={lr.chosen} onPick={chooseLearningRate} />
          <div className="row wrap">
            <span className="pill" data-testid="lr-suggestion" title={`Suggested from the curve: ${SUGGESTION_WORDS[curve.chosen]}`}>
              Suggested: {formatRate(curve.suggestion)}
            </span>
            <strong aria-live="polite" data-testid="lr-chosen">
              Training will use {lr.chosen != null ? formatRate(lr.chosen) : '—'}
            </strong>
            {lr.chosen !== curve.suggestion && (
              <button type="button" className="small" onClick={() => chooseLearningRate(curve.suggestion)}>
                Back to the suggestion
              </button>
            )}
          </div>
          {warning && (
            <p className="rate-warning" data-testid="lr-warning" role="status">
              {warning}
            </p>
          )}
          <details>
            <summary>Other choices</summary>
            <div className="row wrap">
              {(Object.keys(curve.suggestions) as (keyof typeof curve.suggestions)[]).map((k) => (
                <button type="button" className="small" key={k} onClick={() => chooseLearningRate(curve.suggestions[k])}>
                  {SUGGESTION_WORDS[k]}: {formatRate(curve.suggestions[k])}
                </button>
              ))}
              <form
                className="row"
                onSubmit={(e) => {
                  e.preventDefault();
                  const value = Number(typed);
                  if (value > 0 && value < 10) chooseLearningRate(value);
                }}
              >
                <input type="text" inputMode="decimal" placeholder="e.g. 0.003" value={typed} onChange={(e) => setTyped(e.target.value)} aria-label="Type a learning rate" size={10} />
                <button type="submit" className="small">
                  Use this rate
                </button>
              </form>
            </div>
          </details>
        </>
      )}
    </div>
  );
}
