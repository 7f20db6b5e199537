// Builds small photo folders for tests: good pictures in every format people have, and a corpus of
// the bad input real folders contain. Everything is generated, nothing is checked in.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll } from 'vitest';

export function tempDir(prefix = 'foldwise-dataset-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Gives the calling test file a fresh FOLDWISE_CACHE (so thumbnails and scan caches start cold and never
 * touch the user's), then restores the old value and deletes the folder. Returns the folder's path.
 */
export function useTempCache(): () => string {
  const saved = process.env.FOLDWISE_CACHE;
  let cache = '';
  beforeAll(() => void (process.env.FOLDWISE_CACHE = cache = tempDir('foldwise-cache-')));
  afterAll(() => {
    if (saved === undefined) delete process.env.FOLDWISE_CACHE;
    else process.env.FOLDWISE_CACHE = saved;
    fs.rmSync(cache, { recursive: true, force: true });
  });
  return () => cache;
}

/** A distinct picture per seed: a random grid of coloured blocks, so difference hashes differ between seeds. */
export async function picture(seed: number, width = 96, height = 72): Promise<sharp.Sharp> {
  let state = (seed * 2654435761) >>> 0 || 1;
  const random = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const grid = Array.from({ length: 6 * 8 }, () => [random() * 255, random() * 255, random() * 255]);
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cell = grid[Math.min(5, Math.floor((y * 6) / height)) * 8 + Math.min(7, Math.floor((x * 8) / width))]!;
      data.set(cell.map((v) => Math.round(v)), (y * width + x) * 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

export async function jpeg(seed: number, width?: number, height?: number): Promise<Buffer> {
  return (await picture(seed, width, height)).jpeg({ quality: 90 }).toBuffer();
}

export function write(root: string, file: string, data: string | Uint8Array): string {
  const full = path.join(root, ...file.split('/'));
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, data);
  return full;
}

/** An uncompressed 24-bit BMP (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes), written by hand. */
export function bmp24(width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const out = Buffer.alloc(54 + stride * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(stride * height, 34);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = rgb(x, y);
      out[row + x * 3] = b;
      out[row + x * 3 + 1] = g;
      out[row + x * 3 + 2] = r;
    }
  }
  return out;
}

/** A valid PNG header claiming width x height, with a valid CRC but (almost) no pixel data: a decompression bomb's calling card. */
export function bombPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

/** A file that calls itself HEIC (ftyp heic) but holds no decodable picture. */
export function fakeHeic(): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypheic', 4, 'latin1');
  ftyp.write('mif1heic', 16, 'latin1');
  return Buffer.concat([ftyp, Buffer.alloc(200, 7)]);
}
