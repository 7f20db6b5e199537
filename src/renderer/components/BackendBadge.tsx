import { useApp } from '../store';

const WHAT: Record<string, string> = {
  GPU: 'Training runs on your graphics card.',
  CPU: 'Training runs on the processor with TensorFlow.',
  WASM: 'Training runs on the processor with WebAssembly (slower than native TensorFlow).',
};

/** GPU / CPU / WASM, and why not something faster, in a sentence. */
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
  const why = [WHAT[backend.badge] ?? '', ...backend.reasons].filter(Boolean).join(' ');
  return (
    <span className={detailed ? 'backend-detail' : undefined}>
      <span className={`badge badge-${backend.badge.toLowerCase()}`} title={why} data-testid="backend-badge">
        {backend.badge}
      </span>
      {detailed && <span className="muted"> {why} {backend.threads > 1 ? `Using ${backend.threads} threads.` : ''}</span>}
    </span>
  );
}
