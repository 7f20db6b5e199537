// Duplicate photos: byte-identical files (same content id) and near copies (difference hashes a few
// bits apart: the same picture re-saved, resized or recompressed). Groups are connected components,
// so a photo and two re-saves of it form one group, not three pairs.
import type { DatasetImage, DuplicateGroup } from '../../shared/types';
import { hammingDistance, nearPairs } from './hash';

/**
 * Near copies differ in at most this many bits of the horizontal hash AND of the vertical one (64 each).
 * Measured on flowers5: re-saved and resized copies stay within 5 and 4 bits; different photos with
 * the same composition (a bright flower centred on a dark background) can come within 4 bits
 * horizontally but are 20+ bits apart vertically, which the second hash catches.
 */
export const NEAR_DUPLICATE_BITS = { horizontal: 5, vertical: 8 };

function unionFind(n: number) {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  return { find, union: (a: number, b: number) => void (parent[find(a)] = find(b)) };
}

/** Files that show the same picture, each group sorted, groups in file order. */
export function duplicateGroups(images: readonly Pick<DatasetImage, 'file' | 'id'>[], hashOf: (file: string) => string, maxBits = NEAR_DUPLICATE_BITS): string[][] {
  const sets = unionFind(images.length);
  const firstOfId = new Map<string, number>();
  images.forEach((image, i) => {
    const first = firstOfId.get(image.id);
    if (first === undefined) firstOfId.set(image.id, i);
    else sets.union(i, first);
  });
  const representatives = [...firstOfId.values()];
  const hashes = representatives.map((i) => hashOf(images[i]!.file));
  for (const [a, b] of nearPairs(hashes.map((h) => h.slice(0, 16)), maxBits.horizontal)) {
    if (hammingDistance(hashes[a]!.slice(16), hashes[b]!.slice(16)) <= maxBits.vertical) sets.union(representatives[a]!, representatives[b]!);
  }
  const groups = new Map<number, string[]>();
  images.forEach((image, i) => {
    const root = sets.find(i);
    const group = groups.get(root);
    if (group) group.push(image.file);
    else groups.set(root, [image.file]);
  });
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** Flags a group: identical bytes? a label conflict (two classes)? a leak (train and valid/test)? */
export function describeGroup(files: readonly string[], byFile: ReadonlyMap<string, Pick<DatasetImage, 'id' | 'label' | 'split'>>): DuplicateGroup {
  const members = files.map((f) => byFile.get(f)!);
  const splits = new Set(members.map((m) => m.split));
  return {
    files: [...files],
    exact: new Set(members.map((m) => m.id)).size === 1,
    crossClass: new Set(members.map((m) => m.label)).size > 1,
    crossSplit: splits.has('train') && splits.size > 1,
  };
}
