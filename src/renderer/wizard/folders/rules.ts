import { classesWithImages } from '../../store/dataset';
import type { All } from '../../store/types';

export function canAdvance(s: All): true | string {
  if (s.scan.status === 'running') return 'Wait for the scan to finish.';
  if (!s.summary) return 'Choose a folder of photos first: one sub-folder per kind of thing.';
  const usable = classesWithImages(s.summary);
  if (usable < 2) {
    return usable === 1
      ? 'Foldwise needs at least two sub-folders with photos (one per kind of thing); this folder has only one.'
      : 'Foldwise found no photos in sub-folders here. Put each kind of thing in its own sub-folder.';
  }
  return true;
}
