// Which photos check the model: the folders' own split (train/val) or an automatic share of each class.
import { useState } from 'react';
import type { DatasetSummary } from '../../../shared/types';
import { useApp } from '../../store';

export function SplitChoice({ summary }: { summary: DatasetSummary }) {
  const split = useApp((s) => s.split);
  const setSplit = useApp((s) => s.setSplit);
  const [percent, setPercent] = useState(split.validPercent);
  const foldersHaveSplit = summary.splitFromFolders ?? summary.layout === 'splits';

  return (
    <fieldset className="split-choice">
      <legend>Photos to check the model with</legend>
      <p className="hint">Foldwise learns from most photos and keeps some aside to check itself honestly on photos it has never seen.</p>
      {foldersHaveSplit && (
        <label className="radio">
          <input type="radio" name="split" checked={split.mode === 'folders'} onChange={() => setSplit({ mode: 'folders' })} />
          Use the split in my folders (a <span className="mono">train</span> and a <span className="mono">val</span> folder)
        </label>
      )}
      <label className="radio">
        <input type="radio" name="split" checked={split.mode === 'auto' || !foldersHaveSplit} onChange={() => setSplit({ mode: 'auto', validPercent: percent })} />
        Set aside a share of each class automatically
      </label>
      {(split.mode === 'auto' || !foldersHaveSplit) && (
        <label className="row slider-row">
          <input
            type="range"
            min={10}
            max={40}
            step={5}
            value={percent}
            aria-label="Share of photos kept aside to check the model"
            onChange={(e) => setPercent(Number(e.target.value))}
            onPointerUp={() => percent !== split.validPercent && setSplit({ mode: 'auto', validPercent: percent })}
            onKeyUp={() => percent !== split.validPercent && setSplit({ mode: 'auto', validPercent: percent })}
          />
          <span className="count">{percent}% kept aside</span>
        </label>
      )}
    </fieldset>
  );
}
