// Browser mode has no native dialog: this lists folders on the machine running Foldwise.
import { useEffect, useState } from 'react';
import { getApi } from '../../ipc';
import { messageOf } from '../../lib/errors';

interface Listing {
  dir: string;
  parent: string | null;
  folders: string[];
}

export function FolderBrowser({ start, onChoose, onClose }: { start?: string; onChoose(dir: string): void; onClose(): void }) {
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [target, setTarget] = useState<string | undefined>(start);

  useEffect(() => {
    let live = true;
    getApi()
      .call('dataset/browse', { dir: target })
      .then((l) => live && (setListing(l), setError(null)))
      .catch((e: unknown) => live && setError(messageOf(e)));
    return () => {
      live = false;
    };
  }, [target]);

  const join = (dir: string, name: string) => (dir.endsWith('/') || dir.endsWith('\\') ? dir + name : `${dir}${dir.includes('\\') && !dir.includes('/') ? '\\' : '/'}${name}`);

  return (
    <div className="folder-browser" role="dialog" aria-label="Choose a folder" data-testid="folder-browser">
      <div className="row">
        <span className="mono grow truncate" title={listing?.dir}>
          {listing?.dir ?? 'Loading…'}
        </span>
        <button type="button" className="primary" disabled={!listing} onClick={() => listing && onChoose(listing.dir)}>
          Use this folder
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {error && <p className="error-text">{error}</p>}
      <ul className="folder-list">
        {listing?.parent && (
          <li>
            <button type="button" className="link" onClick={() => setTarget(listing.parent!)}>
              ⬑ Up one level
            </button>
          </li>
        )}
        {listing?.folders.map((name) => (
          <li key={name}>
            <button type="button" className="link" onClick={() => setTarget(join(listing.dir, name))}>
              📁 {name}
            </button>
          </li>
        ))}
        {listing && listing.folders.length === 0 && <li className="muted">No sub-folders here.</li>}
      </ul>
    </div>
  );
}
