import { useApp } from '../store';

/** Engine notices and app messages, newest last; each can be dismissed. */
export function Notices() {
  const notices = useApp((s) => s.notices);
  const lost = useApp((s) => s.connectionLost);
  const dismiss = useApp((s) => s.dismissNotice);
  return (
    <div className="notices" aria-live="polite">
      {lost && (
        <div className="message message-error" role="alert">
          The connection to Foldwise's engine was lost (was <span className="mono">foldwise serve</span> stopped?). Start it again and reload this page.
        </div>
      )}
      {notices.map((n) => (
        <div key={n.id} className={`message message-${n.level === 'error' ? 'error' : n.level === 'warning' ? 'warning' : 'info'}`} role={n.level === 'error' ? 'alert' : 'status'}>
          <span className="grow">{n.message}</span>
          <button type="button" className="small" onClick={() => dismiss(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
