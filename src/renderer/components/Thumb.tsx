import { useState } from 'react';
import { getApi } from '../ipc';

/** A cached thumbnail by content id; a quiet placeholder when the cache has none. */
export function Thumb({ id, alt, className }: { id: string; alt: string; className?: string }) {
  const [failed, setFailed] = useState(false);
  if (failed) return <div className={`thumb thumb-missing ${className ?? ''}`} role="img" aria-label={alt} title={alt} />;
  return <img className={`thumb ${className ?? ''}`} src={getApi().imageUrl(id)} alt={alt} title={alt} onError={() => setFailed(true)} />;
}
