// Which photos check the model: the folders' own split (train/val), or an automatic share of each
// class when the folders have none. (The engine always honours a split that the folders give.)
import { useState } from 'react';
import type { DatasetSummary } from '../../../shared/types';
import { useApp } from '../../store';
import { foldersHaveSplit } from '../../store/dataset';

export function SplitChoice({ summary }: { summary: DatasetSummary }) {
  const split = useApp((s) => s.split);
  const setSplit = useApp((s) => s.setSplit);
  const [percent, setPercent] = useState(split.validPercent);
  const commit = () => percent !== split.validPercent && setSplit({ mode: 'auto', validPercent: percent });

  return (
    <fieldset className="split-choice" data-testid="split-choice">
      <legend>Photos to check the model with</legend>
      <p className="hint">Foldwise learns from most photos and keeps some aside to check itself honestly on photos it has never seen.</p>
      {foldersHaveSplit(summary) ? (
        <p>
          Your folders already say which photos are for checking (a <span className="mono">val</span> or <span className="mono">valid</span> folder), so Foldwise uses that
          split. To let Foldwise choose instead, put all photos of each kind in one folder.
        </p>
      ) : (
        <label className="row slider-row">
          <span>Keep aside</span>
          <input
            type="range"
            min={10}
            max={40}
            step={5}
            value={percent}
            aria-label="Share of each class kept aside to check the model"
            onChange={(e) => setPercent(Number(e.target.value))}
            onPointerUp={commit}
            onKeyUp={commit}
          />
          <span className="count">{percent}% of each class, chosen at random but the same every time</span>
        </label>
      )}
    </fieldset>
  );
}
