import type { Progress } from '../../shared/types';
import { formatDuration } from '../lib/format';

const STAGE_WORDS: Record<Progress['stage'], string> = {
  scan: 'Checking photos',
  download: 'Downloading the starting model',
  features: 'Looking at each photo',
  'lr-find': 'Trying learning rates',
  train: 'Training',
  'fine-tune': 'Fine-tuning',
  save: 'Saving the model and its predictions',
  evaluate: 'Checking the model',
  export: 'Writing the model',
  verify: 'Verifying the export',
  predict: 'Predicting',
};

/** A progress bar for one job; indeterminate until the engine reports a total. */
export function ProgressBar({ progress, label }: { progress: Progress | undefined; label: string }) {
  const total = progress?.total ?? 0;
  const done = Math.min(progress?.done ?? 0, total);
  const fraction = total > 0 ? done / total : null;
  const words = progress ? STAGE_WORDS[progress.stage] : label;
  return (
    <div className="progress">
      <div className="progress-label">
        <span>{words}{progress?.message ? ` — ${progress.message}` : ''}</span>
        <span className="muted">
          {progress?.message ? '' : total > 0 ? `${done.toLocaleString('en')} / ${total.toLocaleString('en')}` : 'starting…'}
          {progress?.etaSeconds != null ? ` · about ${formatDuration(progress.etaSeconds)} left` : ''}
        </span>
      </div>
      <div
        className={`progress-track${fraction == null ? ' indeterminate' : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total || undefined}
        aria-valuenow={fraction == null ? undefined : done}
      >
        <div className="progress-fill" style={{ width: fraction == null ? undefined : `${(fraction * 100).toFixed(1)}%` }} />
      </div>
    </div>
  );
}

/** A progress bar with a Cancel button beside it, for a job the person may stop. */
export function CancellableProgress({ progress, label, onCancel }: { progress: Progress | undefined; label: string; onCancel: () => void }) {
  return (
    <div className="row">
      <div className="grow">
        <ProgressBar progress={progress} label={label} />
      </div>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
