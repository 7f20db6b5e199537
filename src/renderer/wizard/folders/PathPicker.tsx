// Where the photos are: a path field (Enter scans), the native dialog in the app, a server-side
// folder browser in browser mode, and dropping a folder onto the window.
import { useState } from 'react';
import { getApi } from '../../ipc';
import { useFileDrop } from '../../lib/file-drop';
import { useApp } from '../../store';
import { FolderBrowser } from './FolderBrowser';

export function PathPicker() {
  const folder = useApp((s) => s.folder);
  const setFolder = useApp((s) => s.setFolder);
  const scanFolder = useApp((s) => s.scanFolder);
  const scanning = useApp((s) => s.scan.status === 'running');
  const [browsing, setBrowsing] = useState(false);
  const [dropHint, setDropHint] = useState<string | null>(null);
  const api = getApi();

  const pick = async () => {
    const chosen = await api.pickFolder();
    if (chosen) void scanFolder(chosen);
  };

  const { over, dropProps } = useFileDrop((file) => {
    const path = api.pathForFile(file);
    if (path) {
      setDropHint(null);
      void scanFolder(path);
    } else {
      setDropHint('Browsers do not tell Foldwise where a dropped folder lives. Type its path above, or use "Browse…".');
    }
  });

  return (
    <div className={`drop-zone${over ? ' drop-over' : ''}`} {...dropProps}>
      <label className="field-label" htmlFor="folder-path">
        Folder of photos
      </label>
      <div className="row">
        <input
          id="folder-path"
          data-testid="folder-path"
          className="grow mono"
          type="text"
          spellCheck={false}
          autoComplete="off"
          placeholder={api.shell === 'electron' ? '/home/you/Pictures/my-photos (or drop a folder here)' : '/home/you/Pictures/my-photos'}
          value={folder}
          onChange={(e) => setFolder(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') void scanFolder();
          }}
        />
        <button type="button" className="primary" onClick={() => void scanFolder()} disabled={scanning || !folder.trim()}>
          Check photos
        </button>
        {api.shell === 'electron' ? (
          <button type="button" onClick={() => void pick()}>
            Choose folder…
          </button>
        ) : (
          <button type="button" onClick={() => setBrowsing((b) => !b)} aria-expanded={browsing}>
            Browse…
          </button>
        )}
      </div>
      <p className="hint">
        Put each kind of thing in its own sub-folder, like <span className="mono">photos/cats</span> and <span className="mono">photos/dogs</span>. Foldwise never changes
        your files unless you ask it to.
      </p>
      {dropHint && <p className="hint warning-text">{dropHint}</p>}
      {browsing && (
        <FolderBrowser
          start={folder.trim() || undefined}
          onChoose={(dir) => {
            setBrowsing(false);
            void scanFolder(dir);
          }}
          onClose={() => setBrowsing(false)}
        />
      )}
    </div>
  );
}
