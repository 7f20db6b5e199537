// scanDataset: a folder of photos in, an honest account out. Every file is read once (content id),
// decoded once at thumbnail size (with JPEG shrink-on-load), and that one small decode gives both the
// thumbnail and the near-duplicate hash. Results are cached so an unchanged folder rescans in a blink.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EngineError } from '../../shared/rpc';
import type { DatasetProblem, DatasetWarning, Split } from '../../shared/types';
import { countRead, describeTally, emptyTally, type CacheTally } from '../cache-file';
import { cacheWriteError } from '../fs-errors';
import { INDEX_VERSION, loadIndex, saveIndex, type ContentFacts, type FileRecord, type ScanIndex } from './cache';
import { finish, ImageProblem, openImage } from './decode';
import { duplicateGroups } from './duplicates';
import { SNIFF_BYTES, sniffFormat } from './formats';
import { contentId, pictureHash } from './hash';
import { emptyClassProblem, fileProblem, MIN_SIDE } from './problems';
import { assignValidation, splitOfFolder } from './split';
import { summarise, type Dataset, type ScannedImage } from './summary';
import { readThumbnail, writeThumbnail } from './thumbnails';
import { holdsFolder, ioProblem, isIgnoredName, linkLoopProblem, walk, type FoundFile } from './walk';

export interface ScanOptions {
  /** Share of each class held out for validation when the folders give no split (default 0.2). */
  validFraction?: number;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
  /** Photos decoded at once (default: twice the cores). */
  concurrency?: number;
}

/** Files bigger than this are not read at all: no photo worth training on is this large. */
const MAX_FILE_BYTES = 256 * 2 ** 20;

/** Thumbnails are this many pixels on the longer side. */
export const THUMBNAIL_SIZE = 128;

interface Candidate {
  found: FoundFile;
  label: string;
  /** From the folders, or null when Foldwise picks. */
  split: Split | null;
}

interface ClassFolder {
  folder: string;
  label: string;
}

async function statRoot(root: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EngineError('dataset/not-found', `There is no folder at ${root}. Check the path.`);
    throw new EngineError('dataset/unreadable', `The folder ${root} cannot be opened (${code ?? (error as Error).message}). Check its permissions.`);
  }
  if (!stat.isDirectory()) throw new EngineError('dataset/not-a-folder', `${root} is a file, not a folder. Choose the folder that holds your class folders.`);
  try {
    await fs.promises.access(root, fs.constants.R_OK | fs.constants.X_OK);
  } catch {
    throw new EngineError('dataset/unreadable', `The folder ${root} cannot be read. Check its permissions.`);
  }
}

/** The visible folders directly in `dir`; links that lead back up to the scan root count as loops. */
async function subfolders(root: string, dir: string): Promise<{ dirs: string[]; files: number; ignored: number; problems: DatasetProblem[] }> {
  const out = { dirs: [] as string[], files: 0, ignored: 0, problems: [] as DatasetProblem[] };
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (error) {
    out.problems.push(ioProblem(root, dir, error));
    return out;
  }
  const realRoot = await fs.promises.realpath(root);
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (isIgnoredName(entry.name)) out.ignored++;
    else if (entry.isDirectory()) out.dirs.push(entry.name);
    else if (!entry.isSymbolicLink()) out.files++;
    else {
      const target = await fs.promises.realpath(full).catch(() => null);
      const isDir = target !== null && (await fs.promises.stat(target).then((s) => s.isDirectory(), () => false));
      if (!isDir) out.files++;
      else if (holdsFolder(target, realRoot)) out.problems.push(linkLoopProblem(root, full));
      else out.dirs.push(entry.name);
    }
  }
  out.dirs.sort();
  return out;
}

/** Finds the layout and the class folders, and walks each of them. */
async function listCandidates(root: string, signal?: AbortSignal) {
  const top = await subfolders(root, root);
  const splitDirs = top.dirs.filter((d) => splitOfFolder(d));
  const layout: 'classes' | 'splits' = splitDirs.length > 0 ? 'splits' : 'classes';
  const warnings: DatasetWarning[] = [];
  const problems: DatasetProblem[] = [...top.problems];
  const candidates: Candidate[] = [];
  const classFolders: ClassFolder[] = [];
  let ignored = top.ignored;

  const walkClass = async (folder: string, label: string, split: Split | null) => {
    classFolders.push({ folder, label });
    const found = await walk(root, path.join(root, ...folder.split('/')), signal);
    ignored += found.ignored;
    problems.push(...found.problems);
    for (const f of found.files) candidates.push({ found: f, label, split });
  };

  if (layout === 'classes') {
    if (top.files > 0) {
      ignored += top.files;
      warnings.push({ kind: 'ignored-files', message: `${top.files} file(s) sit directly in the chosen folder, outside any class folder, and were skipped. Move photos into a folder named after their class.` });
    }
    for (const dir of top.dirs) await walkClass(dir, dir, null);
  } else {
    const others = top.dirs.filter((d) => !splitOfFolder(d));
    if (others.length || top.files) {
      ignored += top.files;
      warnings.push({
        kind: 'ignored-files',
        message: `Skipped ${[...others.map((d) => `folder "${d}"`), ...(top.files ? [`${top.files} loose file(s)`] : [])].join(', ')}: with train/valid/test folders, photos belong in <split>/<class>/.`,
      });
    }
    for (const splitDir of splitDirs) {
      const split = splitOfFolder(splitDir)!;
      const inner = await subfolders(root, path.join(root, splitDir));
      problems.push(...inner.problems);
      ignored += inner.ignored + inner.files;
      if (inner.files) warnings.push({ kind: 'ignored-files', message: `${inner.files} file(s) directly in "${splitDir}" were skipped: put them in ${splitDir}/<class>/.` });
      for (const dir of inner.dirs) await walkClass(`${splitDir}/${dir}`, dir, split);
    }
  }
  return { layout, candidates, classFolders, problems, warnings, ignored };
}

type Outcome = { record: FileRecord; facts?: ContentFacts };

async function readHead(file: string): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Reads, fingerprints and thumbnails one file. Never throws for a bad file: it becomes a record. */
async function examine(found: FoundFile, index: ScanIndex, remade: CacheTally): Promise<Outcome> {
  const base = { size: found.size, mtimeMs: found.mtimeMs };
  if (found.size > MAX_FILE_BYTES) {
    const mb = Math.round(found.size / 2 ** 20);
    return { record: { ...base, problem: { kind: 'too-large', detail: `the file is ${mb} MB, far more than any photo needs` } } };
  }
  try {
    // An odd or missing extension: look at the first bytes before reading a possibly huge file.
    if (found.kind === 'unknown' && !sniffFormat(await readHead(found.path))) return { record: { ...base, ignored: true } };
    const bytes = await fs.promises.readFile(found.path);
    const id = contentId(bytes);
    const known = index.content[id];
    if (known) {
      // Known content (a renamed or copied photo): reuse its facts while its thumbnail is sound.
      const thumbnail = readThumbnail(id);
      countRead(remade, thumbnail);
      if (thumbnail.ok) return { record: { ...base, id }, facts: known };
    }
    const opened = await openImage(bytes);
    // Bilinear is plenty for a 128 px thumbnail after JPEG shrink-on-load, and cheaper than lanczos.
    const { data, info } = await finish(
      opened.image.resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', kernel: 'linear' }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }),
      opened.format,
      bytes,
    );
    const facts: ContentFacts = { width: opened.width, height: opened.height, format: opened.format, hash: pictureHash(data, info.width, info.height, info.channels) };
    const jpeg = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).jpeg({ quality: 80, optimiseCoding: false }).toBuffer();
    // A thumbnail the cache cannot take is the cache's problem, not the photo's: the scan stops and says so.
    await writeThumbnail(id, jpeg).catch((error: unknown) => {
      throw cacheWriteError(error);
    });
    return { record: { ...base, id }, facts };
  } catch (error) {
    if (error instanceof EngineError) throw error;
    if (error instanceof ImageProblem) return { record: { ...base, problem: { kind: error.kind, detail: error.message } } };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { record: { ...base, problem: { kind: 'symlink-loop', detail: 'the link points back to itself' } } };
    if (code) return { record: { ...base, problem: { kind: 'unreadable', detail: `it cannot be read (${code})` } } };
    return { record: { ...base, problem: { kind: 'corrupt', detail: error instanceof Error ? error.message : String(error) } } };
  }
}

/** Runs `work` over `items` with at most `limit` at once, in order of start. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      signal?.throwIfAborted();
      const i = next++;
      await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Scans a photo folder: layout, classes, usable photos with their split, problems, duplicates, warnings. */
export async function scanDataset(rootInput: string, options: ScanOptions = {}): Promise<Dataset> {
  const root = path.resolve(rootInput);
  const validFraction = options.validFraction ?? 0.2;
  if (!(validFraction >= 0 && validFraction < 1)) throw new EngineError('dataset/invalid-fraction', `The validation share must be between 0 and 1, not ${validFraction}.`);
  options.signal?.throwIfAborted();
  await statRoot(root);

  const listed = await listCandidates(root, options.signal);
  // Cache files (the index, thumbnails) found damaged or outdated and made again by this scan.
  const remade = emptyTally();
  const index = await loadIndex(root, remade);
  const fresh: ScanIndex = { version: INDEX_VERSION, files: {}, content: { ...index.content } };
  const total = listed.candidates.length;
  let done = 0;
  options.onProgress?.(0, total);

  // Small photos are cheap per decode, so many photos at once (one libvips thread each) beat
  // one photo spread over many threads.
  const lanes = options.concurrency ?? Math.max(2, os.availableParallelism() * 2);
  const previousConcurrency = sharp.concurrency();
  sharp.concurrency(1);
  try {
    await pool(
      listed.candidates,
      lanes,
      async ({ found }) => {
        const old = index.files[found.file];
        // An unchanged file is not read again, but its thumbnail is checked (a few kB): a damaged one
        // sends the file through examine(), which counts it and makes it again.
        const hit = old && old.size === found.size && old.mtimeMs === found.mtimeMs && (!old.id || (index.content[old.id] && readThumbnail(old.id).ok)) && !(old.problem?.kind === 'unreadable');
        if (hit) fresh.files[found.file] = old;
        else {
          const { record, facts } = await examine(found, index, remade);
          fresh.files[found.file] = record;
          if (record.id && facts) fresh.content[record.id] = facts;
        }
        options.onProgress?.(++done, total);
      },
      options.signal,
    );
  } finally {
    sharp.concurrency(previousConcurrency);
    // Keep what was learnt even when cancelled: the next scan starts from there.
    await saveIndex(root, done === total ? fresh : { ...fresh, files: { ...index.files, ...fresh.files } }).catch(() => undefined);
  }

  const problems: DatasetProblem[] = [...listed.problems];
  const usable: Array<Candidate & { id: string; facts: ContentFacts }> = [];
  let ignored = listed.ignored;
  for (const c of listed.candidates) {
    const record = fresh.files[c.found.file]!;
    if (record.ignored) ignored++;
    else if (record.problem) problems.push(fileProblem(c.found.file, record.problem.kind, record.problem.detail));
    else {
      const facts = fresh.content[record.id!]!;
      if (Math.min(facts.width, facts.height) < MIN_SIDE) problems.push(fileProblem(c.found.file, 'too-small', `${facts.width}x${facts.height} pixels`));
      else usable.push({ ...c, id: record.id!, facts });
    }
  }
  const reported = new Set(problems.map((p) => p.file));
  for (const { folder, label } of listed.classFolders) {
    if (reported.has(folder)) continue; // already explained (unreadable, a loop)
    if (!usable.some((u) => u.label === label && (u.found.file.startsWith(`${folder}/`)))) problems.push(emptyClassProblem(folder));
  }

  // Split: the folders' valid split when there is one; otherwise a per-file hash split of what
  // would be training photos (test photos from a test folder stay test).
  const hasValidFolder = usable.some((u) => u.split === 'valid');
  const toSplit = usable.filter((u) => !hasValidFolder && (u.split ?? 'train') === 'train').map((u) => ({ file: u.found.file, label: u.label }));
  const picked = assignValidation(toSplit, validFraction);
  const images: ScannedImage[] = usable
    .map((u) => ({
      file: u.found.file,
      path: u.found.path,
      label: u.label,
      split: picked.get(u.found.file) ?? u.split ?? 'train',
      id: u.id,
      width: u.facts.width,
      height: u.facts.height,
    }))
    .sort((a, b) => (a.file < b.file ? -1 : 1));

  const hashes = new Map(usable.map((u) => [u.found.file, u.facts.hash]));
  const groups = duplicateGroups(images, (file) => hashes.get(file)!);
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const remadeWords = describeTally(remade);
  const dataset = summarise({
    root,
    layout: listed.layout,
    images,
    problems,
    duplicates: groups,
    // Repaired cache files are said, not hidden: nothing of the user's was lost, but their disk may be failing.
    warnings: [...listed.warnings, ...(remadeWords ? [{ kind: 'cache-remade' as const, message: remadeWords }] : [])],
    ignored,
    splitFromFolders: listed.layout === 'splits' && hasValidFolder,
  });
  return { ...dataset, remade };
}
