// From a list of usable photos to the DatasetSummary people read: counts per class and split,
// duplicates flagged, and warnings about what will hurt training. applyEdits reuses it, so an
// excluded or relabelled photo changes the summary exactly as a rescan would.
import type { CacheTally } from '../cache-file';
import type { ClassSummary, DatasetEdits, DatasetImage, DatasetProblem, DatasetSummary, DatasetWarning } from '../../shared/types';
import { describeGroup } from './duplicates';

export interface ScannedImage extends DatasetImage {
  /** Absolute path. */
  path: string;
}

export interface Dataset {
  summary: DatasetSummary;
  /** Usable photos, split assigned, sorted by file. */
  images: ScannedImage[];
  /** Scan cache files (index, thumbnails) found damaged or outdated and made again; set by scanDataset. */
  remade?: CacheTally;
}

/** Below this many photos a class gets a warning; below FEWEST it cannot be trained at all. */
export const FEW_IMAGES = 10;
export const FEWEST_IMAGES = 2;
/** Largest class over smallest class beyond which training leans towards the big class. */
export const IMBALANCE_RATIO = 3;
const THUMBNAILS_PER_CLASS = 6;

interface SummaryInput {
  root: string;
  layout: DatasetSummary['layout'];
  images: ScannedImage[];
  problems: DatasetProblem[];
  /** Groups of files that show the same picture. */
  duplicates: string[][];
  /** Warnings found while listing (e.g. skipped loose files); the rest are computed here. */
  warnings: DatasetWarning[];
  ignored: number;
  splitFromFolders: boolean;
}

function classWarnings(classes: ClassSummary[]): DatasetWarning[] {
  const warnings: DatasetWarning[] = [];
  const total = (c: ClassSummary) => c.images.train + c.images.valid + c.images.test;
  if (classes.length === 0) {
    warnings.push({ kind: 'too-few-images', message: 'No usable photos were found in class folders. Put photos in one folder per class, e.g. photos/cats and photos/dogs.' });
    return warnings;
  }
  if (classes.length === 1) {
    warnings.push({ kind: 'one-class', class: classes[0]!.name, message: `Only one class ("${classes[0]!.name}") was found. A classifier needs at least two: add a folder of photos for another class.` });
  }
  for (const c of classes) {
    const n = total(c);
    if (n < FEWEST_IMAGES) warnings.push({ kind: 'too-few-images', class: c.name, message: `"${c.name}" has ${n} usable photo${n === 1 ? '' : 's'}; training needs at least ${FEWEST_IMAGES}. Add more photos of ${c.name}.` });
    else if (n < FEW_IMAGES) warnings.push({ kind: 'few-images', class: c.name, message: `"${c.name}" has only ${n} photos; aim for ${FEW_IMAGES} or more so the model can learn it reliably.` });
  }
  const sorted = [...classes].sort((a, b) => total(b) - total(a));
  const big = sorted[0]!;
  const small = sorted[sorted.length - 1]!;
  if (classes.length > 1 && total(small) > 0 && total(big) / total(small) > IMBALANCE_RATIO) {
    warnings.push({
      kind: 'imbalance',
      class: small.name,
      message: `The classes are unbalanced: "${big.name}" has ${total(big)} photos but "${small.name}" only ${total(small)} (worse than 1:${IMBALANCE_RATIO}). Add photos of "${small.name}" or expect it to be under-predicted.`,
    });
  }
  return warnings;
}

export function summarise(input: SummaryInput): Dataset {
  const byFile = new Map(input.images.map((i) => [i.file, i]));
  const perClass = new Map<string, ClassSummary>();
  for (const image of input.images) {
    let c = perClass.get(image.label);
    if (!c) perClass.set(image.label, (c = { name: image.label, images: { train: 0, valid: 0, test: 0 }, thumbnails: [] }));
    c.images[image.split]++;
    if (c.thumbnails!.length < THUMBNAILS_PER_CLASS && !c.thumbnails!.includes(image.id)) c.thumbnails!.push(image.id);
  }
  const classes = [...perClass.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const duplicates = input.duplicates.map((files) => describeGroup(files, byFile));
  const warnings = [...input.warnings, ...classWarnings(classes)];
  const conflicts = duplicates.filter((d) => d.crossClass).length;
  if (conflicts) {
    warnings.push({ kind: 'label-conflict', message: `${conflicts} picture${conflicts === 1 ? ' appears' : 's appear'} in two different classes. Keep each in the one class it belongs to, or exclude the copies.` });
  }
  const leaks = duplicates.filter((d) => d.crossSplit).length;
  if (leaks) {
    warnings.push({ kind: 'leak', message: `${leaks} picture${leaks === 1 ? ' is' : 's are'} in training and also in validation or test, which makes the measured accuracy look better than it is. Exclude the copies.` });
  }
  return {
    images: input.images,
    summary: {
      root: input.root,
      layout: input.layout,
      classes,
      images: input.images.length,
      problems: input.problems,
      duplicates,
      warnings,
      ignored: input.ignored,
      splitFromFolders: input.splitFromFolders,
    },
  };
}

const COMPUTED = new Set<DatasetWarning['kind']>(['few-images', 'too-few-images', 'imbalance', 'one-class', 'label-conflict', 'leak']);

/** The dataset as training will see it after the person's exclusions and relabels; files on disk are untouched. */
export function applyEdits(dataset: Dataset, edits: Partial<DatasetEdits>): Dataset {
  const exclude = new Set(edits.exclude ?? []);
  const relabel = edits.relabel ?? {};
  const images = dataset.images.filter((i) => !exclude.has(i.file)).map((i) => (relabel[i.file] ? { ...i, label: relabel[i.file]! } : i));
  const duplicates = dataset.summary.duplicates.map((d) => d.files.filter((f) => !exclude.has(f))).filter((files) => files.length > 1);
  const s = dataset.summary;
  return summarise({
    root: s.root,
    layout: s.layout,
    images,
    problems: s.problems,
    duplicates,
    warnings: s.warnings.filter((w) => !COMPUTED.has(w.kind)),
    ignored: s.ignored ?? 0,
    splitFromFolders: s.splitFromFolders ?? false,
  });
}
