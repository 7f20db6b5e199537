// Numbers and paths in the words and shapes people expect.

/** A learning rate people can read: 0.0032 rather than 3.2e-3 for usual values. */
export function formatRate(lr: number): string {
  if (!Number.isFinite(lr)) return '—';
  if (lr >= 0.0001 && lr < 10) return Number(lr.toPrecision(2)).toString();
  return lr.toExponential(1).replace('.0e', 'e');
}

/** "42 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 10) return `${seconds < 0.1 ? '<0.1' : seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * A fraction as a percentage that never rounds up to a perfect score: 0.9996 is "99.9%", not "100%".
 * People read 100% as "exactly the same", so only an exact 1 earns it.
 */
export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '—';
  if (fraction >= 1) return '100%';
  const scale = 10 ** digits;
  const floored = Math.floor(fraction * 100 * scale) / scale;
  return `${floored.toFixed(digits).replace(/\.0+$/, '')}%`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** Joins a folder and a relative path (with `/`) using the folder's own separator. */
export function joinPath(dir: string, relative: string): string {
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  const trimmed = dir.replace(/[\\/]+$/, '');
  return `${trimmed}${sep}${relative.split('/').join(sep)}`;
}

/** The last part of a path, for short labels. */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}
