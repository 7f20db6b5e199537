// Which file answers a foldwise:// request. Only two places are ever reachable: the built UI and
// Foldwise's cache; every path is resolved (symlinks included) and checked to stay inside.
import fs from 'node:fs';
import path from 'node:path';

const IMAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

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

export function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function isInside(parent: string, child: string): boolean {
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

/** foldwise://app/<pathname> -> a file of the built UI, or null. */
export async function appFile(rendererDir: string, pathname: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const candidate = path.resolve(rendererDir, relative);
  if (!isInside(path.resolve(rendererDir), candidate)) return null;
  return realFileInside(rendererDir, candidate);
}

/** foldwise://image/<id> -> a cached image inside `cacheRoot`, or null. `lookup` maps an id to its file. */
export async function cachedImage(cacheRoot: string, id: string, lookup: (id: string) => string | null): Promise<string | null> {
  if (!IMAGE_ID.test(id)) return null;
  const file = lookup(id);
  return file ? realFileInside(cacheRoot, file) : null;
}
