import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetSummary } from '../../shared/types';
import { bmp24, bombPng, fakeHeic, jpeg, picture, tempDir, useTempCache, write } from './corpus.test-helpers';
import { scanDataset } from './scan';
import { applyEdits, type ScannedImage } from './summary';
import { thumbnailFile } from './decode';
import { readThumbnail } from './thumbnails';
import { indexFile } from './cache';
import { CACHE_HEADER_BYTES } from '../cache-file';
import crypto from 'node:crypto';

const cache = useTempCache();
afterEach(() => vi.restoreAllMocks());

const kinds = (s: DatasetSummary) => Object.fromEntries(s.problems.map((p) => [p.file, p.kind]));
const count = (s: DatasetSummary, name: string) => {
  const c = s.classes.find((x) => x.name === name);
  return c ? c.images.train + c.images.valid + c.images.test : 0;
};

/** Every entry under `dir` with its size and mtime, links not followed: to prove a scan wrote nothing there. */
function snapshot(dir: string, prefix = ''): string[] {
  // Hand-rolled: fs.readdirSync({ recursive: true }) on Node 20 follows a link to '.' forever.
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      const s = fs.lstatSync(full);
      const line = `${prefix}${entry.name}:${s.size}:${s.mtimeMs}`;
      return entry.isDirectory() ? [line, ...snapshot(full, `${prefix}${entry.name}/`)] : [line];
    })
    .sort();
}

describe('scanDataset on a folder of good and bad files', () => {
  let root: string;
  let summary: DatasetSummary;
  let images: ScannedImage[];
  let lockedPath: string;
  const runningAsRoot = process.getuid?.() === 0;

  beforeAll(async () => {
    root = tempDir();
    // Usable cats, one per format and oddity people have.
    for (let i = 1; i <= 10; i++) write(root, `cats/cat${i}.jpg`, await jpeg(i));
    write(root, 'cats/IMG_0011.JPG', await jpeg(11));
    write(root, 'cats/really-a-png.jpg', await (await picture(12)).png().toBuffer());
    write(root, 'cats/web.webp', await (await picture(13)).webp().toBuffer());
    write(root, 'cats/anim.gif', await (await picture(14)).gif().toBuffer());
    write(root, 'cats/scan.tif', await (await picture(15)).tiff().toBuffer());
    write(root, 'cats/new.avif', await (await picture(16)).avif().toBuffer());
    write(root, 'cats/old.bmp', bmp24(64, 48, (x, y) => [x * 4, y * 5, 128]));
    write(root, 'cats/deep.png', await (await picture(17)).toColourspace('rgb16').png().toBuffer());
    write(root, 'cats/print.jpg', await (await picture(18)).toColourspace('cmyk').jpeg().toBuffer());
    write(root, 'cats/sideways.jpg', await (await picture(19, 96, 60)).withMetadata({ orientation: 6 }).jpeg().toBuffer());
    write(root, 'cats/nested/more/cat20.jpg', await jpeg(20));
    // The bad-input corpus.
    const good = await jpeg(21, 200, 150);
    write(root, 'cats/truncated.jpg', good.subarray(0, Math.floor(good.length / 2)));
    write(root, 'cats/empty.jpg', '');
    write(root, 'cats/notes.jpg', 'These are my cat photos from 2019.\nThe good ones are in the other folder.\n');
    write(root, 'cats/bomb.png', bombPng(40_000, 40_000));
    write(root, 'cats/tiny.jpg', await jpeg(22, 16, 16));
    write(root, 'cats/iphone.heic', fakeHeic());
    lockedPath = write(root, 'cats/locked.jpg', await jpeg(23));
    fs.chmodSync(lockedPath, 0o000);
    fs.symlinkSync('..', path.join(root, 'cats', 'loop')); // a folder link back to its parent
    fs.symlinkSync('self.jpg', path.join(root, 'cats', 'self.jpg')); // a link to itself
    fs.symlinkSync('.', path.join(root, 'everything')); // a "class" folder that is the root again
    // Ignored quietly.
    write(root, 'cats/.DS_Store', 'x');
    write(root, 'cats/Thumbs.db', 'x');
    write(root, 'cats/.hidden.jpg', await jpeg(24));
    write(root, 'cats/readme.txt', 'hello');
    write(root, 'cats/album.pdf', '%PDF-1.4');
    write(root, 'cats/no-extension', 'just some text');
    // Dogs, with an exact copy of a cat (label conflict) and a near copy of a dog.
    for (let i = 1; i <= 10; i++) write(root, `dogs/dog${i}.jpg`, await jpeg(100 + i));
    fs.copyFileSync(path.join(root, 'cats/cat1.jpg'), path.join(root, 'dogs/not-a-dog.jpg'));
    write(root, 'dogs/dog1-resaved.jpg', await sharp(await jpeg(101)).resize(80).jpeg({ quality: 60 }).toBuffer());
    // A class folder with nothing usable, and a photo outside any class folder.
    write(root, 'birds/.DS_Store', 'x');
    write(root, 'stray.jpg', await jpeg(30));

    const before = snapshot(root);
    const realReadFile = fs.promises.readFile;
    if (runningAsRoot) {
      // Root reads chmod-000 files anyway, so the permission error is injected for that one file.
      vi.spyOn(fs.promises, 'readFile').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) =>
        String(file) === lockedPath
          ? Promise.reject(Object.assign(new Error(`EACCES: permission denied, open '${lockedPath}'`), { code: 'EACCES' }))
          : (realReadFile as (...a: unknown[]) => Promise<unknown>)(file, ...rest)) as typeof fs.promises.readFile);
    }
    ({ summary, images } = await scanDataset(root));
    vi.restoreAllMocks();
    expect(snapshot(root)).toEqual(before); // nothing written into the photo folder
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds both classes and every usable photo, whatever its format or extension', () => {
    expect(summary.layout).toBe('classes');
    expect(summary.splitFromFolders).toBe(false);
    expect(summary.classes.map((c) => c.name)).toEqual(['cats', 'dogs']);
    expect(count(summary, 'cats')).toBe(21);
    expect(count(summary, 'dogs')).toBe(12);
    expect(summary.images).toBe(33);
    const sideways = images.find((i) => i.file === 'cats/sideways.jpg')!;
    expect([sideways.width, sideways.height]).toEqual([60, 96]); // EXIF orientation 6 applied
    expect(images.find((i) => i.file === 'cats/nested/more/cat20.jpg')?.label).toBe('cats');
    expect(images.every((i) => path.isAbsolute(i.path) && !i.file.includes('\\'))).toBe(true);
  });

  it('reports each bad file with its kind and a fix, and never crashes', () => {
    expect(kinds(summary)).toEqual({
      birds: 'empty-class',
      'cats/bomb.png': 'too-large',
      'cats/empty.jpg': 'empty',
      'cats/iphone.heic': 'unsupported',
      'cats/locked.jpg': 'unreadable',
      'cats/loop': 'symlink-loop',
      'cats/notes.jpg': 'not-an-image',
      'cats/self.jpg': 'symlink-loop',
      'cats/tiny.jpg': 'too-small',
      'cats/truncated.jpg': 'truncated',
      everything: 'symlink-loop',
    });
    for (const p of summary.problems) {
      expect(p.message).toContain(p.file);
      expect(p.message).toMatch(/delete|remove|copy it again|convert|permissions|move|add photos|shrink/i);
    }
  });

  it('skips hidden files, system files and documents quietly, and counts them', () => {
    // .DS_Store x2, Thumbs.db, .hidden.jpg, readme.txt, album.pdf, no-extension (text), stray.jpg
    expect(summary.ignored).toBe(8);
    expect(summary.warnings.find((w) => w.kind === 'ignored-files')?.message).toMatch(/outside any class folder/);
  });

  it('finds the exact copy across classes and the near copy within a class', () => {
    expect(summary.duplicates).toEqual([
      { files: ['cats/cat1.jpg', 'dogs/not-a-dog.jpg'], exact: true, crossClass: true, crossSplit: expect.any(Boolean) },
      { files: ['dogs/dog1-resaved.jpg', 'dogs/dog1.jpg'], exact: false, crossClass: false, crossSplit: expect.any(Boolean) },
    ]);
    expect(summary.warnings.map((w) => w.kind)).toContain('label-conflict');
  });

  it('keeps thumbnails in the cache, named by content', () => {
    const ids = summary.classes.flatMap((c) => c.thumbnails ?? []);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) {
      expect(thumbnailFile(id).startsWith(cache())).toBe(true);
      const read = readThumbnail(id);
      expect(read.ok && read.payload.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff])); // a JPEG behind the header
    }
  });
});

describe('scanDataset edits, splits, warnings and cache', () => {
  it('applyEdits excludes and relabels, and recomputes duplicates and warnings', async () => {
    const root = tempDir();
    for (let i = 1; i <= 12; i++) write(root, `cats/c${i}.jpg`, await jpeg(i));
    for (let i = 1; i <= 12; i++) write(root, `dogs/d${i}.jpg`, await jpeg(50 + i));
    fs.copyFileSync(path.join(root, 'cats/c1.jpg'), path.join(root, 'dogs/copy.jpg'));
    const dataset = await scanDataset(root);
    expect(dataset.summary.warnings.map((w) => w.kind)).toContain('label-conflict');
    const edited = applyEdits(dataset, { exclude: ['dogs/copy.jpg'], relabel: { 'dogs/d12.jpg': 'cats' } });
    expect(edited.summary.duplicates).toEqual([]);
    expect(edited.summary.warnings.map((w) => w.kind)).not.toContain('label-conflict');
    expect(count(edited.summary, 'cats')).toBe(13);
    expect(count(edited.summary, 'dogs')).toBe(11);
    expect(edited.images.find((i) => i.file === 'dogs/d12.jpg')?.label).toBe('cats');
    expect(fs.existsSync(path.join(root, 'dogs/copy.jpg'))).toBe(true);
    fs.rmSync(root, { recursive: true });
  });

  it('uses train/Val/TEST folders (any case) and flags a photo in both train and valid as a leak', async () => {
    const root = tempDir();
    for (let i = 1; i <= 5; i++) write(root, `train/ants/a${i}.jpg`, await jpeg(i));
    for (let i = 1; i <= 5; i++) write(root, `train/bees/b${i}.jpg`, await jpeg(20 + i));
    write(root, 'Val/ants/va1.jpg', await jpeg(40));
    write(root, 'Val/bees/vb1.jpg', await jpeg(41));
    fs.copyFileSync(path.join(root, 'train/ants/a1.jpg'), path.join(root, 'Val/ants/leak.jpg'));
    write(root, 'TEST/bees/tb1.jpg', await jpeg(42));
    const { summary, images } = await scanDataset(root);
    expect(summary.layout).toBe('splits');
    expect(summary.splitFromFolders).toBe(true);
    expect(summary.classes).toEqual([
      { name: 'ants', images: { train: 5, valid: 2, test: 0 }, thumbnails: expect.any(Array) },
      { name: 'bees', images: { train: 5, valid: 1, test: 1 }, thumbnails: expect.any(Array) },
    ]);
    expect(images.find((i) => i.file === 'Val/ants/leak.jpg')).toMatchObject({ split: 'valid', label: 'ants', path: path.join(root, 'Val', 'ants', 'leak.jpg') });
    expect(summary.duplicates).toEqual([{ files: ['Val/ants/leak.jpg', 'train/ants/a1.jpg'], exact: true, crossClass: false, crossSplit: true }]);
    expect(summary.warnings.map((w) => w.kind)).toContain('leak');
    fs.rmSync(root, { recursive: true });
  });

  it('makes a stratified validation split that stays put when photos are added', async () => {
    const root = tempDir();
    for (let i = 0; i < 40; i++) write(root, `a/${i}.jpg`, await jpeg(i, 40, 40));
    for (let i = 0; i < 40; i++) write(root, `b/${i}.jpg`, await jpeg(100 + i, 40, 40));
    const first = await scanDataset(root, { validFraction: 0.25 });
    for (const c of first.summary.classes) {
      expect(c.images.valid).toBeGreaterThanOrEqual(4);
      expect(c.images.valid).toBeLessThanOrEqual(18);
    }
    for (let i = 40; i < 60; i++) write(root, `a/${i}.jpg`, await jpeg(200 + i, 40, 40));
    for (let i = 40; i < 60; i++) write(root, `b/new-${i}.jpg`, await jpeg(300 + i, 40, 40));
    const second = await scanDataset(root, { validFraction: 0.25 });
    expect(second.images.length).toBe(120);
    const before = new Map(first.images.map((i) => [i.file, i.split]));
    const moved = second.images.filter((i) => before.has(i.file) && before.get(i.file) !== i.split);
    expect(moved).toEqual([]);
    expect(second.images.filter((i) => !before.has(i.file)).some((i) => i.split === 'valid')).toBe(true);
    fs.rmSync(root, { recursive: true });
  });

  it('warns about few photos, too few photos, imbalance and a single class', async () => {
    const root = tempDir();
    for (let i = 0; i < 20; i++) write(root, `many/${i}.jpg`, await jpeg(i, 40, 40));
    for (let i = 0; i < 4; i++) write(root, `few/${i}.jpg`, await jpeg(50 + i, 40, 40));
    write(root, 'lonely/0.jpg', await jpeg(90, 40, 40));
    const { summary } = await scanDataset(root);
    const byKind = (k: string) => summary.warnings.filter((w) => w.kind === k).map((w) => w.class);
    expect(byKind('few-images')).toEqual(['few']);
    expect(byKind('too-few-images')).toEqual(['lonely']);
    expect(byKind('imbalance')).toEqual(['lonely']);
    expect(byKind('one-class')).toEqual([]);

    const single = tempDir();
    for (let i = 0; i < 12; i++) write(single, `only/${i}.jpg`, await jpeg(i, 40, 40));
    const one = (await scanDataset(single)).summary;
    expect(one.warnings.map((w) => w.kind)).toEqual(['one-class']);
    fs.rmSync(root, { recursive: true });
    fs.rmSync(single, { recursive: true });
  });

  it('rescans an unchanged folder from the cache, and re-reads a changed file', async () => {
    const root = tempDir();
    for (let i = 0; i < 6; i++) write(root, `a/${i}.jpg`, await jpeg(i, 40, 40));
    for (let i = 0; i < 6; i++) write(root, `b/${i}.jpg`, await jpeg(10 + i, 40, 40));
    const file = path.join(root, 'a/0.jpg');
    const atime = new Date('2024-01-01T00:00:00Z');
    const mtime = new Date('2024-01-02T00:00:00Z');
    fs.utimesSync(file, atime, mtime);
    const cold = await scanDataset(root);
    // Same size and mtime but different bytes: a warm scan trusts the cache and does not even read it...
    const { size } = fs.statSync(file);
    fs.writeFileSync(file, Buffer.alloc(size, 0x20));
    fs.utimesSync(file, atime, mtime);
    const warm = await scanDataset(root);
    expect(warm.summary).toEqual(cold.summary);
    // ...and once the file really changes (new mtime), it is read again and found broken.
    fs.utimesSync(file, atime, new Date(mtime.getTime() + 5000));
    const changed = await scanDataset(root);
    expect(kinds(changed.summary)).toEqual({ 'a/0.jpg': 'not-an-image' });
    expect(changed.summary.images).toBe(11);
    fs.rmSync(root, { recursive: true });
  });

  it('remakes a scan index and thumbnails whose contents were damaged behind intact headers, and counts them', async () => {
    const root = tempDir();
    for (let i = 0; i < 4; i++) write(root, `a/${i}.jpg`, await jpeg(20 + i, 40, 40));
    for (let i = 0; i < 4; i++) write(root, `b/${i}.jpg`, await jpeg(30 + i, 40, 40));
    const cold = await scanDataset(root);
    expect(cold.remade).toEqual({ damaged: 0, outdated: 0 });
    const scramble = (file: string) => {
      const bytes = fs.readFileSync(file);
      crypto.randomFillSync(bytes, CACHE_HEADER_BYTES);
      fs.writeFileSync(file, bytes);
    };
    const ids = cold.images.map((im) => im.id);
    scramble(indexFile(root));
    scramble(thumbnailFile(ids[0]!));
    scramble(thumbnailFile(ids[5]!));
    const again = await scanDataset(root);
    // The same summary, plus a warning that says so where `foldwise scan` and the Folders step show warnings.
    const remadeWarnings = (w: { kind: string }[]) => w.filter((x) => x.kind === 'cache-remade');
    expect({ ...again.summary, warnings: again.summary.warnings.filter((w) => w.kind !== 'cache-remade') }).toEqual(cold.summary);
    expect(remadeWarnings(again.summary.warnings)).toEqual([{ kind: 'cache-remade', message: expect.stringMatching(/^1 cache file was damaged .*made it again/) }]);
    expect(remadeWarnings(cold.summary.warnings)).toEqual([]);
    // The damaged index makes the scan cold, which writes every thumbnail anew without reading the old ones.
    expect(again.remade).toEqual({ damaged: 1, outdated: 0 });
    for (const id of ids) expect(readThumbnail(id).ok).toBe(true);
    // With the index sound, a damaged thumbnail of an unchanged photo is still found.
    scramble(thumbnailFile(ids[2]!));
    expect((await scanDataset(root)).remade).toEqual({ damaged: 1, outdated: 0 });
    expect(readThumbnail(ids[2]!).ok).toBe(true);
    // An index and thumbnails from before the header (bare JSON and JPEG) are outdated: a cold scan.
    fs.writeFileSync(indexFile(root), JSON.stringify({ version: 2, files: {}, content: {} }));
    const jpegOnly = readThumbnail(ids[1]!);
    fs.writeFileSync(thumbnailFile(ids[1]!), jpegOnly.ok ? jpegOnly.payload : Buffer.alloc(0));
    expect((await scanDataset(root)).remade).toEqual({ damaged: 0, outdated: 1 });
    fs.rmSync(root, { recursive: true });
  });

  it('stops when cancelled', async () => {
    const root = tempDir();
    for (let i = 0; i < 30; i++) write(root, `a/${i}.jpg`, await jpeg(i, 40, 40));
    write(root, 'b/0.jpg', await jpeg(99, 40, 40));
    const controller = new AbortController();
    const seen: number[] = [];
    const run = scanDataset(root, {
      signal: controller.signal,
      concurrency: 1,
      onProgress: (done) => {
        seen.push(done);
        if (done === 3) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(Math.max(...seen)).toBeLessThan(31);
    fs.rmSync(root, { recursive: true });
  });

  it('reports a class folder it may not open, and carries on with the rest', async () => {
    const root = tempDir();
    for (let i = 0; i < 3; i++) write(root, `a/${i}.jpg`, await jpeg(i, 40, 40));
    for (let i = 0; i < 3; i++) write(root, `b/${i}.jpg`, await jpeg(10 + i, 40, 40));
    const locked = path.join(root, 'b');
    // Injected rather than chmod: the tests run as root, which may open any folder.
    const realReaddir = fs.promises.readdir;
    vi.spyOn(fs.promises, 'readdir').mockImplementation(((dir: fs.PathLike, ...rest: unknown[]) =>
      String(dir) === locked
        ? Promise.reject(Object.assign(new Error(`EACCES: permission denied, scandir '${locked}'`), { code: 'EACCES' }))
        : (realReaddir as (...a: unknown[]) => Promise<unknown>)(dir, ...rest)) as typeof fs.promises.readdir);
    const { summary } = await scanDataset(root);
    expect(summary.images).toBe(3);
    expect(summary.problems).toEqual([{ file: 'b', kind: 'unreadable', message: expect.stringContaining('permissions') }]);
    fs.rmSync(root, { recursive: true });
  });

  it('says clearly when the folder is missing or is a file', async () => {
    await expect(scanDataset('/no/such/folder/anywhere')).rejects.toMatchObject({ name: 'dataset/not-found', message: expect.stringContaining('/no/such/folder/anywhere') });
    const dir = tempDir();
    const file = write(dir, 'photo.jpg', await jpeg(1));
    await expect(scanDataset(file)).rejects.toMatchObject({ name: 'dataset/not-a-folder' });
    fs.rmSync(dir, { recursive: true });
  });
});
