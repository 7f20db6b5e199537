import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeForModel, ImageProblem, loadImage, openImage, thumbnailFile, type ResizeRecipe } from './decode';
import { bmp24, bombPng, fakeHeic, jpeg, picture, tempDir } from './corpus.test-helpers';
import { sniffFormat } from './formats';

const recipe: ResizeRecipe = { size: 32, resize: 'shorter-side', crop: 'center', interpolation: 'bilinear' };
const pixel = (px: Uint8Array, size: number, x: number, y: number) => Array.from(px.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));
const near = (a: number[], b: number[], tolerance = 12) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);
const solid = (r: number, g: number, b: number, width = 64, height = 48) => sharp({ create: { width, height, channels: 3, background: { r, g, b } } });

async function problemOf(bytes: Buffer): Promise<ImageProblem> {
  const error = await decodeForModel(bytes, recipe).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageProblem);
  return error as ImageProblem;
}

describe('decodeForModel', () => {
  it('gives size*size*3 RGB for every format people have, sniffed from content', async () => {
    const orange = [230, 120, 20] as const;
    const inputs: Record<string, Buffer> = {
      jpeg: await solid(...orange).jpeg().toBuffer(),
      png: await solid(...orange).png().toBuffer(),
      webp: await solid(...orange).webp({ quality: 95 }).toBuffer(),
      gif: await solid(...orange).gif().toBuffer(),
      tiff: await solid(...orange).tiff().toBuffer(),
      avif: await solid(...orange).avif({ quality: 90 }).toBuffer(),
      bmp: bmp24(64, 48, () => [...orange]),
    };
    for (const [format, bytes] of Object.entries(inputs)) {
      expect(sniffFormat(bytes), format).toBe(format);
      const px = await decodeForModel(bytes, recipe);
      expect(px.length, format).toBe(32 * 32 * 3);
      expect(near(pixel(px, 32, 16, 16), [...orange], 16), `${format}: ${pixel(px, 32, 16, 16)}`).toBe(true);
    }
  });

  it('resizes the shorter side and crops the centre', async () => {
    // 96x48: left quarter black, middle half white, right quarter black. The centre crop keeps only white.
    const data = Buffer.alloc(96 * 48 * 3);
    for (let y = 0; y < 48; y++) for (let x = 24; x < 72; x++) data.fill(255, (y * 96 + x) * 3, (y * 96 + x) * 3 + 3);
    const png = await sharp(data, { raw: { width: 96, height: 48, channels: 3 } }).png().toBuffer();
    const px = await decodeForModel(png, recipe);
    expect(pixel(px, 32, 1, 16)).toEqual([255, 255, 255]);
    expect(pixel(px, 32, 30, 16)).toEqual([255, 255, 255]);
  });

  it('flattens alpha on white, widens grey to RGB, narrows 16-bit to 8-bit and converts CMYK', async () => {
    const transparent = await sharp({ create: { width: 40, height: 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    expect(pixel(await decodeForModel(transparent, recipe), 32, 5, 5)).toEqual([255, 255, 255]);

    const grey = await solid(90, 90, 90).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    expect(near(pixel(await decodeForModel(grey, recipe), 32, 5, 5), [90, 90, 90], 3)).toBe(true);

    const png16 = await solid(200, 100, 50).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    expect(near(pixel(await decodeForModel(png16, recipe), 32, 5, 5), [200, 100, 50], 3)).toBe(true);

    const cmyk = await solid(30, 60, 200).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const rgb = pixel(await decodeForModel(cmyk, recipe), 32, 5, 5);
    // CMYK round trips are lossy (no embedded profile); what matters is a blue photo stays blue, not inverted.
    expect(rgb[2]!, `${rgb}`).toBeGreaterThan(rgb[0]! + 60);
    expect(rgb[2]!, `${rgb}`).toBeGreaterThan(rgb[1]! + 40);
  });

  it('applies EXIF orientation, so a photo taken sideways comes out upright', async () => {
    // Stored 40x20: left half red, right half blue. Orientation 6 means "rotate 90° clockwise to view",
    // which puts the stored left edge at the top.
    const data = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) data.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    const stored = await sharp(data, { raw: { width: 40, height: 20, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(stored).metadata()).orientation).toBe(6);
    const opened = await openImage(stored);
    expect([opened.width, opened.height]).toEqual([20, 40]);
    const { data: up, info } = await (await loadImage(stored)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([20, 40]);
    const at = (x: number, y: number) => Array.from(up.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
    expect(near(at(10, 5), [255, 0, 0], 40)).toBe(true);
    expect(near(at(10, 35), [0, 0, 255], 40)).toBe(true);
  });

  it('reads a path as well as a buffer, whatever the extension says', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'PHOTO.PNG'); // really a JPEG
    fs.writeFileSync(file, await jpeg(3));
    expect(sniffFormat(fs.readFileSync(file))).toBe('jpeg');
    expect((await decodeForModel(file, recipe)).length).toBe(32 * 32 * 3);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('openImage problems', () => {
  it('names what is wrong with bad bytes', async () => {
    const good = await jpeg(1, 200, 150);
    expect((await problemOf(Buffer.alloc(0))).kind).toBe('empty');
    expect((await problemOf(Buffer.from('name,label\ncat.jpg,cat\n'))).kind).toBe('not-an-image');
    expect((await problemOf(good.subarray(0, Math.floor(good.length * 0.6)))).kind).toBe('truncated');
    const png = await (await picture(2, 200, 150)).png().toBuffer();
    expect((await problemOf(png.subarray(0, Math.floor(png.length * 0.6)))).kind).toBe('truncated');
    expect((await problemOf(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))).kind).toMatch(/corrupt|truncated/);
    expect((await problemOf(Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256 || 1))))).toMatchObject({ kind: 'corrupt' });
  });

  it('refuses a decompression bomb from its header, without decoding it', async () => {
    const started = performance.now();
    const problem = await problemOf(bombPng(50_000, 50_000));
    expect(problem.kind).toBe('too-large');
    expect(problem.message).toContain('50000x50000');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('explains HEIC it cannot decode and says to convert to JPEG', async () => {
    // No HEVC encoder exists on npm or in sharp's prebuilt libvips, so a real iPhone HEIC cannot be made
    // here; this checks the path a broken or undecodable HEIC takes through heic-decode (libheif wasm).
    const problem = await problemOf(fakeHeic());
    expect(sniffFormat(fakeHeic())).toBe('heic');
    expect(problem.kind).toBe('unsupported');
    expect(problem.message).toMatch(/convert it to JPEG/);
  });
});

describe('thumbnailFile', () => {
  const saved = process.env.FOLDWISE_CACHE;
  beforeAll(() => void (process.env.FOLDWISE_CACHE = '/tmp/fw-cache-x'));
  afterAll(() => void (saved === undefined ? delete process.env.FOLDWISE_CACHE : (process.env.FOLDWISE_CACHE = saved)));
  it('lives in the cache, named by content id', () => {
    expect(thumbnailFile('abcdef')).toBe(path.join('/tmp/fw-cache-x', 'thumbnails', 'ab', 'abcdef.jpg'));
  });
});
