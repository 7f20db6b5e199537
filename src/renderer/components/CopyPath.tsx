// Where a file manager cannot be opened (browser mode), the path itself, ready to copy.
import { useState } from 'react';

/** A button that copies `path`, saying so; the path itself stays on screen as selectable text (and in the tooltip). */
export function CopyPathButton({ path, label = 'Copy path' }: { path: string; label?: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(path);
      setCopied('yes');
    } catch {
      setCopied('no'); // no clipboard access here: the path is on screen to select by hand
    }
  };
  return (
    <button type="button" className="small" onClick={() => void copy()} title={path} data-testid="copy-path">
      {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Select the path to copy it' : label}
    </button>
  );
}
