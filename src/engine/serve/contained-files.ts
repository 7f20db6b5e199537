// The file checks both ways of showing the UI share (`foldwise serve` over HTTP, and the desktop
// app's foldwise:// protocol): only files really inside a given folder are ever served, and each goes
// out with its content type. Node built-ins only, so the Electron main process can load it too.
import fs from 'node:fs';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** What an image id (a content id) may look like in a URL: nothing that could name a path. */
export const IMAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The Content-Type for a file, by its extension; `fallback` when the extension is not known. */
export function contentType(file: string, fallback = 'application/octet-stream'): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? fallback;
}

/** True when `child` is `parent` or inside it (paths only; see realFileInside for symlinks). */
export function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** The real path of `file` if it is a regular file inside `root` after resolving symlinks; otherwise null. */
export async function realFileInside(root: string, file: string): Promise<string | null> {
  try {
    const [realRoot, realFile] = await Promise.all([fs.promises.realpath(root), fs.promises.realpath(file)]);
    if (!isInside(realRoot, realFile) || realFile === realRoot) return null;
    return (await fs.promises.stat(realFile)).isFile() ? realFile : null;
  } catch {
    return null;
  }
}
