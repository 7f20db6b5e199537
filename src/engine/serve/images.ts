// Which cached file answers /image/<id> in browser mode: the scan's thumbnail for that content id.
// The server still checks that the resolved file lies inside the cache before sending it.
import fs from 'node:fs';
import { thumbnailFile } from '../dataset';

export function cachedImageFile(id: string): string | null {
  const file = thumbnailFile(id);
  return fs.existsSync(file) ? file : null;
}
