// Problem and warning sentences: each names the file and says what the person can do about it.
import type { DatasetProblem, ProblemKind } from '../../shared/types';

/** Shorter side below this many pixels: too little detail to learn from. */
export const MIN_SIDE = 32;

const FIX: Record<ProblemKind, string> = {
  corrupt: 'The file is damaged or not a real picture: open it in a photo viewer and save it again as JPEG, or delete it.',
  truncated: 'The file is cut off, as after an interrupted download or copy: copy it again from the original, or delete it.',
  empty: 'The file is empty (0 bytes): copy it again from the original, or delete it.',
  'not-an-image': 'It is a text file with a picture name: move it out of the photo folder.',
  'too-large': 'It is too big to open safely: shrink it to a few megapixels in any photo editor, or remove it.',
  'too-small': `It is too small to learn from (under ${MIN_SIDE} pixels on a side): use a larger copy, or remove it.`,
  unreadable: 'Foldwise may not read it: check the file permissions.',
  unsupported: 'Foldwise cannot decode this format here: convert it to JPEG.',
  'empty-class': 'The folder has no usable photos: add photos or remove the folder.',
  'symlink-loop': 'The link points back into itself: delete the link.',
};

export function fileProblem(file: string, kind: ProblemKind, detail: string): DatasetProblem {
  // HEIC details already carry their own advice; repeating a generic fix would only add noise.
  const fix = kind === 'unsupported' && /convert/i.test(detail) ? '' : ` ${FIX[kind]}`;
  return { file, kind, message: `${file}: ${detail}.${fix}` };
}

export function emptyClassProblem(folder: string): DatasetProblem {
  return { file: folder, kind: 'empty-class', message: `${folder}: ${FIX['empty-class']}` };
}
