// Which file answers a foldwise:// request. Only two places are ever reachable: the built UI and
// Foldwise's cache; every path is resolved (symlinks included) and checked to stay inside.
import path from 'node:path';
import { IMAGE_ID, isInside, realFileInside } from '../engine/serve/contained-files';

export { contentType } from '../engine/serve/contained-files';

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
