import { backendReasons, backendSentence } from '../lib/backend-words';
import { useApp } from '../store';

/** GPU / CPU / WASM; detailed, one short sentence beside it and the engine's reasons behind "Why?". */
export function BackendBadge({ detailed = false }: { detailed?: boolean }) {
  const backend = useApp((s) => s.backend);
  const error = useApp((s) => s.backendError);
  if (!backend) {
    return (
      <span className="badge badge-unknown" title={error ?? 'Asking the engine…'} data-testid="backend-badge">
        {error ? 'engine ?' : '…'}
      </span>
    );
  }
  const sentence = backendSentence(backend);
  const reasons = backendReasons(backend);
  const threads = backend.threads > 1 ? `Using ${backend.threads} threads.` : '';
  const hover = [sentence, ...reasons, threads].filter(Boolean).join('\n');
  const badge = (
    <span className={`badge badge-${backend.badge.toLowerCase()}`} title={hover} data-testid="backend-badge">
      {backend.badge}
    </span>
  );
  if (!detailed) return badge;
  return (
    <div className="backend-detail">
      {badge} <span data-testid="backend-sentence">{sentence}</span>
      {(reasons.length > 0 || threads) && (
        <details className="backend-why">
          <summary>Why?</summary>
          <ul className="plain muted small">
            {reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
            {threads && <li>{threads}</li>}
          </ul>
        </details>
      )}
    </div>
  );
}
