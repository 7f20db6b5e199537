import { useApp } from '../store';
import { Message } from './Message';

/** Engine notices and app messages, newest last; each can be dismissed. */
export function Notices() {
  const notices = useApp((s) => s.notices);
  const lost = useApp((s) => s.connectionLost);
  const dismiss = useApp((s) => s.dismissNotice);
  return (
    <div className="notices" aria-live="polite">
      {lost && (
        <Message kind="error">
          The connection to Foldwise's engine was lost (was <span className="mono">foldwise serve</span> stopped?). Start it again and reload this page.
        </Message>
      )}
      {notices.map((n) => (
        <Message key={n.id} kind={n.level}>
          <span className="grow">{n.message}</span>
          <button type="button" className="small" onClick={() => dismiss(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </Message>
      ))}
    </div>
  );
}
