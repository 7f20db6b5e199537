// Which cached file answers /image/<id> in browser mode (and foldwise://image/<id> in the app): the
// scan's thumbnail for that content id. The server still checks that the resolved file lies inside
// the cache before sending it, and sends only the JPEG behind its checked header.
import fs from 'node:fs';
import { thumbnailFile } from '../dataset';
import { readThumbnail } from '../dataset/thumbnails';

export function cachedImageFile(id: string): string | null {
  const file = thumbnailFile(id);
  return fs.existsSync(file) ? file : null;
}

/** The JPEG inside a thumbnail file, or null when the file fails its check (the next scan makes it again). */
export async function cachedImageBytes(file: string, id: string): Promise<Buffer | null> {
  const read = readThumbnail(id, file);
  return read.ok ? read.payload : null;
}
