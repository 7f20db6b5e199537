// Builds a big photo folder (~12,000 photos in ~150 classes) out of ../shared/datasets, for
// bench/scale.ts and bench/schedule.ts. The shared sets hold only ~7,200 photos in 9 classes, so:
//   - every photo of every set is hard-linked in (no copy), its split folders merged, so Foldwise
//     picks the split itself as it does for a folder without one;
//   - the rest are NEW photos made from the first ones of each class: mirrored, cropped to the middle
//     90% and re-encoded (a different file, a different decode and a different feature vector; not
//     a near-duplicate by Foldwise's difference hashes). A hard-linked second copy would be the same
//     content, which Foldwise computes once, and would flatter the features phase;
//   - each real class (e.g. flowers5/daisy) is cut, in file order, into pseudo-classes of about
//     `perClass` photos (daisy-00, daisy-01, ...). Only the real class can be learnt from the pixels:
//     a pseudo-class within it is noise. That is honest for time and memory (they depend on how many
//     photos and classes there are, not on what they show); for accuracy, bench/schedule.ts also scores
//     the prediction's real class.
// Written into a temp folder the caller removes; ../shared is only read.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { sharedDir } from '../src/engine/paths';

const IMAGE = /\.(jpe?g|png|gif|webp|bmp|tiff?)$/i;

export interface SourceClass {
  /** `${dataset}-${label}`: the real class every pseudo-class made from it belongs to. */
  name: string;
  files: string[];
}

/** Every class folder of every shared dataset, split folders (train/val/test) merged, files sorted by name. */
export function sourceClasses(datasets = path.join(sharedDir(), 'datasets')): SourceClass[] {
  const out = new Map<string, string[]>();
  const visit = (dataset: string, dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(dataset, full);
      else if (IMAGE.test(entry.name)) {
        const name = `${dataset}-${path.basename(dir)}`;
        out.set(name, [...(out.get(name) ?? []), full]);
      }
    }
  };
  for (const dataset of fs.readdirSync(datasets).sort()) visit(dataset, path.join(datasets, dataset));
  return [...out].map(([name, files]) => ({ name, files: files.sort((a, b) => (path.basename(a) < path.basename(b) ? -1 : 1)) }));
}

/** The real class a pseudo-class folder name came from ('flowers5-daisy-m03' -> 'flowers5-daisy'). */
export const realClassOf = (pseudo: string) => pseudo.replace(/-m?\d+$/, '');

async function mirroredCopy(from: string, to: string): Promise<boolean> {
  try {
    const image = sharp(from, { failOn: 'none' }).rotate();
    const { width = 0, height = 0 } = await image.metadata();
    if (width < 32 || height < 32) return false;
    const [w, h] = [Math.round(width * 0.9), Math.round(height * 0.9)];
    await image
      .extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h })
      .flop()
      .jpeg({ quality: 90 })
      .toFile(to);
    return true;
  } catch {
    return false; // a file that is not a photo (hymenoptera's GIF placeholder) gets no copy
  }
}

/** Runs `work` over items with `lanes` at a time. */
async function pool<T>(items: T[], lanes: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

export interface BigFolder {
  root: string;
  photos: number;
  classes: number;
  copies: number;
}

/**
 * ~`photos` photos in pseudo-classes of ~`perClass`: all shared photos linked, plus mirrored copies of
 * each real class's first photos (the same share of every class) to make up the rest.
 */
export async function buildBigFolder(root: string, { photos = 12_000, perClass = 80 } = {}): Promise<BigFolder> {
  const sources = sourceClasses();
  const originals = sources.reduce((n, s) => n + s.files.length, 0);
  const copyShare = Math.max(0, Math.min(1, (photos - originals) / originals));
  let copies = 0;
  let classes = 0;
  fs.mkdirSync(root, { recursive: true });
  const tasks: { from: string; to: string }[] = [];
  for (const source of sources) {
    const place = (files: string[], prefix: string) => {
      const groups = Math.max(1, Math.round(files.length / perClass));
      for (let g = 0; g < groups; g++) {
        const dir = path.join(root, `${source.name}-${prefix}${String(g).padStart(2, '0')}`);
        fs.mkdirSync(dir);
        classes++;
        const slice = files.slice(Math.floor((g * files.length) / groups), Math.floor(((g + 1) * files.length) / groups));
        for (const file of slice) tasks.push({ from: file, to: path.join(dir, prefix === 'm' ? `${path.parse(file).name}-mirror.jpg` : path.basename(file)) });
      }
    };
    const take = Math.min(source.files.length, photos < originals ? Math.round((photos / originals) * source.files.length) : source.files.length);
    place(source.files.slice(0, take), '');
    const copied = Math.round(copyShare * source.files.length);
    if (copied > 0) place(source.files.slice(0, copied), 'm');
  }
  await pool(tasks, 4, async ({ from, to }) => {
    if (to.endsWith('-mirror.jpg')) {
      if (await mirroredCopy(from, to)) copies++;
    } else fs.linkSync(from, to);
  });
  const count = tasks.length - tasks.filter((t) => t.to.endsWith('-mirror.jpg')).length + copies;
  return { root, photos: count, classes, copies };
}

/**
 * A smaller folder with the same classes: the first `share` of each class folder of `big`, hard-linked
 * (so 1k, 4k and 12k differ only in photos per class).
 */
export function subsetFolder(big: string, root: string, share: number): { root: string; photos: number; classes: number } {
  let photos = 0;
  let classes = 0;
  for (const dir of fs.readdirSync(big).sort()) {
    const files = fs.readdirSync(path.join(big, dir)).sort();
    const take = Math.max(2, Math.round(files.length * share));
    fs.mkdirSync(path.join(root, dir), { recursive: true });
    for (const file of files.slice(0, take)) fs.linkSync(path.join(big, dir, file), path.join(root, dir, file));
    photos += Math.min(take, files.length);
    classes++;
  }
  return { root, photos, classes };
}

// `npx tsx bench/big-folder.ts <out> [photos]` builds one folder to try things on by hand.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(__filename)) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: npx tsx bench/big-folder.ts <empty folder> [photos]');
  void buildBigFolder(out, { photos: Number(process.argv[3] ?? 12_000) }).then((f) => console.log(JSON.stringify(f)));
}
