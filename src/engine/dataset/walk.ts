// Lists the files under a folder the way a person means it: hidden and system files skipped (and
// counted), symlinks followed unless they loop back, unreadable folders reported rather than fatal.
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetProblem } from '../../shared/types';
import { IMAGE_EXTENSIONS } from './formats';

export interface FoundFile {
  /** Relative to the scan root, with '/'. */
  file: string;
  path: string;
  size: number;
  mtimeMs: number;
  /** 'image' by extension, or 'unknown' (no or odd extension: the content decides). */
  kind: 'image' | 'unknown';
}

export interface WalkResult {
  files: FoundFile[];
  ignored: number;
  problems: DatasetProblem[];
}

const SYSTEM_FILES = new Set(['thumbs.db', 'desktop.ini', 'ehthumbs.db', 'icon\r', '__macosx', '$recycle.bin', 'system volume information']);

// Documents, media and archives people keep beside photos: skipped without reading them.
const NOT_PHOTOS = new Set(
  ('.txt .md .rtf .pdf .doc .docx .odt .xls .xlsx .ods .csv .tsv .json .xml .yaml .yml .html .htm .ppt .pptx .key .pages .numbers ' +
    '.mp4 .mov .avi .mkv .m4v .wmv .webm .mp3 .wav .m4a .aac .flac .ogg .zip .rar .7z .tar .gz .tgz .bz2 .xz .dmg .iso .exe .msi .py .js .ts .sh .ini .db .log .lnk .url .svg .psd .ai .eps .xmp .aae .raw .cr2 .nef .arw .dng')
    .split(' '),
);

/** True for names skipped quietly: hidden files, OS litter and documents. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || SYSTEM_FILES.has(name.toLowerCase()) || NOT_PHOTOS.has(path.extname(name).toLowerCase());
}

const toRel = (root: string, p: string) => path.relative(root, p).split(path.sep).join('/');

/** A file or folder that could not be read, said so the person can fix it. */
export function ioProblem(root: string, p: string, error: unknown): DatasetProblem {
  const code = (error as NodeJS.ErrnoException).code;
  const file = toRel(root, p) || '.';
  if (code === 'ELOOP') return { file, kind: 'symlink-loop', message: `${file} is a link that points back to itself; delete the link.` };
  if (code === 'ENOENT') return { file, kind: 'unreadable', message: `${file} is a link to something that no longer exists; delete the link or restore its target.` };
  return {
    file,
    kind: 'unreadable',
    message: `${file} cannot be read (${code ?? (error as Error).message}); check its permissions, e.g. give your user read access.`,
  };
}

/** True when the real folder `target` is `real` or holds it: a link there would be walked forever. */
export function holdsFolder(target: string, real: string): boolean {
  return real === target || real.startsWith(target.endsWith(path.sep) ? target : target + path.sep);
}

/** The problem for a link at `full` that leads back to a folder holding it. */
export function linkLoopProblem(root: string, full: string): DatasetProblem {
  const file = toRel(root, full);
  return { file, kind: 'symlink-loop', message: `${file} is a link to a folder that contains it, so it loops forever; delete the link.` };
}

/** Walks `dir` (inside `root`) depth-first; `ancestors` holds the real paths above it, to spot loops. */
export async function walk(root: string, dir: string = root, signal?: AbortSignal, ancestors: ReadonlySet<string> = new Set()): Promise<WalkResult> {
  const result: WalkResult = { files: [], ignored: 0, problems: [] };
  let real: string;
  let entries: fs.Dirent[];
  try {
    real = await fs.promises.realpath(dir);
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (error) {
    result.problems.push(ioProblem(root, dir, error));
    return result;
  }
  const inside = new Set(ancestors).add(real);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    signal?.throwIfAborted();
    const full = path.join(dir, entry.name);
    if (isIgnoredName(entry.name)) {
      result.ignored++;
      continue;
    }
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(full); // follows symlinks
    } catch (error) {
      result.problems.push(ioProblem(root, full, error));
      continue;
    }
    if (stat.isDirectory()) {
      if (entry.isSymbolicLink()) {
        const target = await fs.promises.realpath(full).catch(() => full);
        // A link to any folder that holds it (up to the scan root and beyond) would be walked forever.
        if (inside.has(target) || holdsFolder(target, real)) {
          result.problems.push(linkLoopProblem(root, full));
          continue;
        }
      }
      const sub = await walk(root, full, signal, inside);
      result.files.push(...sub.files);
      result.problems.push(...sub.problems);
      result.ignored += sub.ignored;
    } else if (stat.isFile()) {
      const kind = IMAGE_EXTENSIONS.has(path.extname(entry.name).toLowerCase()) ? 'image' : 'unknown';
      result.files.push({ file: toRel(root, full), path: full, size: stat.size, mtimeMs: stat.mtimeMs, kind });
    } else {
      result.ignored++; // sockets, pipes, devices
    }
  }
  return result;
}
