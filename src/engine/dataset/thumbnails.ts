// The scan's thumbnails in the cache: a 128 px JPEG of each photo's content behind the checked cache
// header (cache-file.ts), so a damaged thumbnail is made again by the next scan and never shown.
import fs from 'node:fs';
import path from 'node:path';
import { readCacheFileSync, wrapPayload, writeCacheFile, type CacheFormat, type CacheRead } from '../cache-file';
import { makeFolder, noteWritePath } from '../fs-errors';
import { thumbnailFile } from './decode';

/** Before the header a thumbnail was the bare JPEG (it starts with the JPEG marker FF D8). */
export const THUMBNAIL_FORMAT: CacheFormat = { kind: 'thmb', version: 1, legacy: (bytes) => bytes[0] === 0xff && bytes[1] === 0xd8 };

/** The JPEG of the thumbnail of content `id`, checked (`file`: where it is, if not thumbnailFile(id)). */
export function readThumbnail(id: string, file = thumbnailFile(id)): CacheRead {
  return readCacheFileSync(file, THUMBNAIL_FORMAT, id);
}

const madeDirs = new Set<string>();

/**
 * Writes a thumbnail in one write to its final name. A temp-name-and-rename per file costs more CPU
 * than decoding the photo (ext4 journals every rename), and it is not needed for safety here: a
 * write cut short fails the header's length and checksum check, and a thumbnail is only trusted once
 * the scan index that records its content id has been written (atomically, after every thumbnail of
 * the scan is complete). Either way the next scan writes the thumbnail again.
 */
export async function writeThumbnail(id: string, jpeg: Uint8Array): Promise<void> {
  const file = thumbnailFile(id);
  const dir = path.dirname(file);
  if (!madeDirs.has(dir)) {
    await makeFolder(dir); // on a read-only disk, says so (Node's recursive mkdir would say ENOENT)
    madeDirs.add(dir);
  }
  try {
    fs.writeFileSync(file, wrapPayload(THUMBNAIL_FORMAT, id, jpeg)); // a few kB: one syscall, cheaper than a trip through the thread pool
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      fs.rmSync(file, { force: true }); // cut short by a full disk: not left behind
      throw noteWritePath(error, file);
    }
    madeDirs.delete(dir); // the cache was cleared under us: make the folder again
    await writeCacheFile(file, THUMBNAIL_FORMAT, id, jpeg);
  }
}
