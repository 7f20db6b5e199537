// Which split a photo belongs to. Folders named train/valid/test decide when they exist; otherwise a
// hash of the photo's relative path does, so adding photos later never moves the ones already there.
import crypto from 'node:crypto';
import type { Split } from '../../shared/types';

const SPLIT_NAMES: Record<string, Split> = { train: 'train', valid: 'valid', val: 'valid', validation: 'valid', test: 'test' };

/** The split a top-level folder name stands for (case-insensitive), or null for a class folder. */
export function splitOfFolder(name: string): Split | null {
  return SPLIT_NAMES[name.toLowerCase()] ?? null;
}

/** A number in [0, 1) fixed by the relative path alone. */
export function pathFraction(file: string): number {
  return crypto.createHash('sha1').update(file).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Assigns 'valid' to the files whose path hash falls under `validFraction`, per class (stratified in
 * expectation). A class of two or more photos that the threshold leaves without any validation photo
 * gets its lowest-hash photo, so every class can be measured.
 */
export function assignValidation(files: readonly { file: string; label: string }[], validFraction: number): Map<string, Split> {
  const out = new Map<string, Split>();
  const byClass = new Map<string, { file: string; h: number }[]>();
  for (const { file, label } of files) {
    const h = pathFraction(file);
    out.set(file, h < validFraction ? 'valid' : 'train');
    const list = byClass.get(label) ?? [];
    list.push({ file, h });
    byClass.set(label, list);
  }
  for (const list of byClass.values()) {
    if (list.length < 2 || validFraction <= 0 || list.some((x) => out.get(x.file) === 'valid')) continue;
    const lowest = list.reduce((a, b) => (b.h < a.h ? b : a));
    out.set(lowest.file, 'valid');
  }
  return out;
}
