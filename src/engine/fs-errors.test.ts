// Each file-system error Foldwise explains becomes one sentence that names the folder the user knows
// and says what to do; injected errors cover every code, a small tmpfs the real thing.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../shared/rpc';
import { ensureSpace, formatBytes, freeBytes, plainFsError, withPlainFsErrors } from './fs-errors';
import { mountSmallDisk, noSmallDisks, type SmallDisk } from './tmpfs.test-helpers';

/** An error as Node's fs makes it. */
function errno(code: string, extra: { path?: string; dest?: string; syscall?: string } = {}): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, ${extra.syscall ?? 'write'}`), { code, syscall: 'write', ...extra });
}

const plain = (error: unknown, place?: Parameters<typeof plainFsError>[1]) => plainFsError(error, place) as EngineError;
const exportDir = '/media/usb/export';

describe('plainFsError', () => {
  const savedCache = process.env.FOLDWISE_CACHE;
  afterEach(() => {
    if (savedCache === undefined) delete process.env.FOLDWISE_CACHE;
    else process.env.FOLDWISE_CACHE = savedCache;
  });

  it('says a full disk is full, where, how much is needed and what to do', () => {
    const e = plain(errno('ENOSPC'), { folder: exportDir, needBytes: 14e6 });
    expect(e).toBeInstanceOf(EngineError);
    expect(e.name).toBe('fs/no-space');
    expect(e.message).toBe('The disk holding /media/usb/export is full: Foldwise needs about 14 MB there. Free some space or choose another folder.');
    expect(e.detail).toMatchObject({ folder: exportDir, code: 'ENOSPC', needBytes: 14e6 });
    expect(plain(errno('EDQUOT'), { folder: exportDir }).message).toBe('The disk holding /media/usb/export is full. Free some space or choose another folder.');
  });

  it('gives each other code its own sentence naming the folder and a way out', () => {
    const cases: [string, string, RegExp][] = [
      ['EACCES', 'fs/not-allowed', /^Foldwise is not allowed to write in \/media\/usb\/export\. Change that folder’s permissions or choose another folder\.$/],
      ['EPERM', 'fs/not-allowed', /not allowed to write in \/media\/usb\/export/],
      ['EROFS', 'fs/read-only', /^\/media\/usb\/export is on a disk that cannot be written to \(read-only.*\)\. Choose a folder on another disk\.$/],
      ['ENAMETOOLONG', 'fs/name-too-long', /too long for the disk holding \/media\/usb\/export\. Choose a folder with a shorter name/],
      ['EMFILE', 'fs/too-many-open-files', /too many files open at once while working in \/media\/usb\/export\. Close some other programs and try again/],
      ['ENFILE', 'fs/too-many-open-files', /too many files open/],
    ];
    for (const [code, name, message] of cases) {
      const e = plain(errno(code), { folder: exportDir });
      expect([code, e.name]).toEqual([code, name]);
      expect(e.message).toMatch(message);
      expect(e.message.split(/\.\s/).length).toBeLessThanOrEqual(3); // one finding, one thing to do
    }
  });

  it('names the folder the user chose, not the hidden partial one being written', () => {
    const partial = '/media/usb/.export.partial-4242-lk3j9/samples/1-ants.jpg';
    expect(plain(errno('ENOSPC', { path: partial })).message).toMatch(/^The disk holding \/media\/usb\/export is full\./);
    expect(plain(errno('EACCES', { path: '/runs/.r1.partial/head/model.json', syscall: 'open' })).message).toMatch(/write in \/runs\/r1\./);
    // A copy is about the folder it was copied into, not the one it came from.
    expect(plain(errno('ENOSPC', { path: '/app/node_modules/tf.min.js', syscall: 'copyfile', dest: '/media/usb/.export.partial-1-a/tf.min.js' })).message).toMatch(/^The disk holding \/media\/usb\/export is full/);
    // A folder that could not be made is named itself, not its parent.
    expect(plain(errno('EROFS', { path: '/media/card/heatmaps', syscall: 'mkdir' })).message).toMatch(/^\/media\/card\/heatmaps is on a disk that cannot be written to/);
    // Given a place, an error under its parent (where the partial sibling lives) is about that place.
    expect(plain(errno('ENOSPC', { path: partial }), { folder: exportDir, needBytes: 3e6 }).message).toContain('needs about 3 MB');
  });

  it('speaks of the cache as the cache, which is safe to empty', () => {
    process.env.FOLDWISE_CACHE = '/home/ann/.cache/foldwise';
    const e = plain(errno('ENOSPC', { path: '/home/ann/.cache/foldwise/features/ab/cd.f32.tmp' }));
    expect(e.message).toBe(
      'The disk holding Foldwise’s cache folder /home/ann/.cache/foldwise is full. Free some space (emptying the cache folder is safe) or set FOLDWISE_CACHE to a folder on another disk.',
    );
    expect(plain(errno('EROFS', { path: '/home/ann/.cache/foldwise/x' })).message).toMatch(/cache folder .* \(read-only\)\. Set FOLDWISE_CACHE/);
  });

  it('words a permission error while reading as reading, and leaves alone what it cannot place or does not explain', () => {
    expect(plain(errno('EACCES', { path: '/photos/ants/1.jpg', syscall: 'scandir' })).message).toBe('Foldwise is not allowed to read /photos/ants/1.jpg. Change its permissions, or choose a folder you can read.');
    const pathless = errno('ENOSPC');
    expect(plainFsError(pathless)).toBe(pathless);
    const other = errno('ENOENT', { path: '/x' });
    expect(plainFsError(other, { folder: '/x' })).toBe(other);
    const done = new EngineError('fs/no-space', 'already said');
    expect(plainFsError(done, { folder: '/y' })).toBe(done);
  });

  it('withPlainFsErrors reads the place when the error comes, so a size learnt midway is named', async () => {
    const place: { folder: string; needBytes?: number } = { folder: exportDir };
    const failing = withPlainFsErrors(
      () => place,
      async () => {
        place.needBytes = 2.5e6;
        throw errno('ENOSPC');
      },
    );
    await expect(failing).rejects.toThrow('Foldwise needs about 2.5 MB there');
  });

  it('writes sizes as people read them', () => {
    expect([formatBytes(300), formatBytes(14_200_000), formatBytes(2_070_000), formatBytes(820_000), formatBytes(2.4e9)]).toEqual(['1 kB', '15 MB', '2.1 MB', '820 kB', '2.4 GB']);
  });
});

describe.skipIf(noSmallDisks())('ensureSpace on a real 3 MB disk', () => {
  let disk: SmallDisk;
  beforeAll(() => {
    disk = mountSmallDisk({ size: '3m' });
    disk.fill(200_000);
  });
  afterAll(() => disk.unmount());

  it('refuses a write that cannot fit before anything is written, naming the folder, the size and the space', async () => {
    const target = path.join(disk.dir, 'exports', 'ants');
    const free = await freeBytes(target); // a folder not made yet: its disk is asked
    expect(free).toBeGreaterThan(100_000);
    expect(free).toBeLessThan(300_000);
    const refused = await ensureSpace({ folder: target, needBytes: 14e6 }).then(() => null, (e: EngineError) => e);
    expect(refused?.name).toBe('fs/no-space');
    expect(refused?.message).toMatch(new RegExp(`^The disk holding ${target} has only \\d+ kB free: Foldwise needs about 14 MB there\\. Free some space or choose another folder\\.$`));
    await ensureSpace({ folder: target, needBytes: 50_000 });
    expect(fs.existsSync(path.join(disk.dir, 'exports'))).toBe(false);
  });
});
if (noSmallDisks()) console.log(`fs-errors.test.ts: ${noSmallDisks()}`);
