import type { ReactNode } from 'react';

/** A boxed sentence: an error people can act on, a warning, or a hint. */
export function Message({ kind, title, children, testId }: { kind: 'error' | 'warning' | 'info'; title?: string; children: ReactNode; testId?: string }) {
  return (
    <div className={`message message-${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {title && <strong>{title} </strong>}
      {children}
    </div>
  );
}
