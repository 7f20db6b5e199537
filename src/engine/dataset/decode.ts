// The ONE decode path used by scan, features, predict and export verification. Whatever the file
// (JPEG, PNG 8/16-bit, grey, alpha, WebP, GIF, TIFF, AVIF, BMP, HEIC, CMYK, EXIF-rotated), what comes
// out is upright 8-bit sRGB with alpha flattened on white, so the model sees the photo the user sees.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';
import type { ProblemKind } from '../../shared/types';
import { cacheDir } from '../paths';
import { lacksEndMarker, looksLikeText, SNIFF_BYTES, sniffFormat, type ImageFormat } from './formats';

/** Decompression-bomb cap: a 100-megapixel photo is already far beyond any camera people train on. */
export const MAX_PIXELS = 100_000_000;

export interface ResizeRecipe {
  size: number;
  resize: 'shorter-side';
  crop: 'center';
  interpolation: 'bilinear';
}

/** Why a file could not be decoded, in the words of DatasetProblem kinds. */
export class ImageProblem extends Error {
  constructor(readonly kind: ProblemKind, message: string) {
    super(message);
    this.name = 'ImageProblem';
  }
}

export interface OpenedImage {
  /** Normalised pipeline: upright, 8-bit sRGB, no alpha. Add resize/crop/flip and an output. */
  image: sharp.Sharp;
  format: ImageFormat;
  /** Size as the user sees it (after EXIF orientation). */
  width: number;
  height: number;
}

export interface OpenOptions {
  maxPixels?: number;
}

const WHITE = { r: 255, g: 255, b: 255 };

/**
 * Upright, alpha on white, 8-bit sRGB. Steps that would be no-ops (an opaque 8-bit sRGB JPEG, the
 * common case) are left out: libvips would still spend time on them.
 */
function normalise(image: sharp.Sharp, meta: sharp.Metadata): sharp.Sharp {
  let out = image.autoOrient();
  if (meta.hasAlpha || meta.channels === 4 || meta.channels === 2) out = out.flatten({ background: WHITE });
  if (meta.space !== 'srgb' || meta.depth !== 'uchar' || (meta.channels ?? 3) < 3) out = out.toColourspace('srgb');
  return out;
}

function classifyDecodeError(error: unknown, format: ImageFormat, bytes: Uint8Array): ImageProblem {
  // Decoder messages can run to many lines of libvips detail; the first says what went wrong.
  const text = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
  if (/pixel limit/i.test(text)) return new ImageProblem('too-large', text);
  if (/premature end|truncated|unexpected end|end of (file|input|stream)|not enough|out of data|short read|bad seek/i.test(text) || lacksEndMarker(format, bytes)) {
    return new ImageProblem('truncated', text);
  }
  return new ImageProblem('corrupt', text);
}

function tooLarge(width: number, height: number, maxPixels: number): ImageProblem | null {
  if (width * height <= maxPixels) return null;
  return new ImageProblem('too-large', `${width}x${height} is ${Math.round((width * height) / 1e6)} megapixels, over the ${Math.round(maxPixels / 1e6)} MP limit`);
}

/** BMP: sharp's prebuilt libvips has no BMP reader, so decode it in JS after checking the header size. */
function openBmp(bytes: Buffer, maxPixels: number): sharp.Sharp {
  const width = bytes.readInt32LE(18);
  const height = Math.abs(bytes.readInt32LE(22));
  const big = tooLarge(width, height, maxPixels);
  if (big) throw big;
  let bmp;
  try {
    bmp = decodeBmp(bytes);
  } catch (error) {
    throw new ImageProblem(bytes.length < 54 ? 'truncated' : 'corrupt', error instanceof Error ? error.message : String(error));
  }
  const pixels = bmp.width * bmp.height;
  if (bmp.data.length < pixels * 4) throw new ImageProblem('truncated', 'pixel data is shorter than the header says');
  // bmp-ts gives ABGR (its RGBA mode misplaces bytes for palette images) and leaves alpha 0 for
  // ordinary 24-bit files, so keep the colour and treat every BMP as opaque.
  const rgb = Buffer.allocUnsafe(pixels * 3);
  for (let p = 0, i = 0; p < pixels; p++, i += 4) {
    rgb[p * 3] = bmp.data[i + 3]!;
    rgb[p * 3 + 1] = bmp.data[i + 2]!;
    rgb[p * 3 + 2] = bmp.data[i + 1]!;
  }
  return sharp(rgb, { raw: { width: bmp.width, height: bmp.height, channels: 3 } });
}

const HEIC_ADVICE = 'convert it to JPEG (on an iPhone: Settings > Camera > Formats > Most Compatible)';

/** HEIC: try sharp's libheif first (it may have an HEVC decoder), then libheif compiled to wasm. */
async function openHeic(bytes: Buffer, maxPixels: number): Promise<sharp.Sharp> {
  let decoder: typeof import('heic-decode').default;
  try {
    decoder = (await import('heic-decode')).default;
  } catch {
    throw new ImageProblem('unsupported', `HEIC decoder is not installed here; ${HEIC_ADVICE}`);
  }
  let images;
  try {
    images = await decoder.all({ buffer: bytes });
  } catch (error) {
    throw new ImageProblem('unsupported', `HEIC could not be decoded (${error instanceof Error ? error.message : String(error)}); ${HEIC_ADVICE}`);
  }
  try {
    const first = images[0];
    if (!first) throw new ImageProblem('corrupt', 'the HEIC file holds no picture');
    const big = tooLarge(first.width, first.height, maxPixels);
    if (big) throw big;
    const { width, height, data } = await first.decode().catch((error: unknown) => {
      throw new ImageProblem('unsupported', `HEIC could not be decoded (${error instanceof Error ? error.message : String(error)}); ${HEIC_ADVICE}`);
    });
    return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 4 } });
  } finally {
    images.dispose?.();
  }
}

/**
 * Opens image bytes: sniffs the real format, refuses bombs from the header alone, and returns a
 * normalised sharp pipeline. Throws ImageProblem (never anything else) when the bytes are not a usable image.
 */
export async function openImage(bytes: Buffer, options: OpenOptions = {}): Promise<OpenedImage> {
  const maxPixels = options.maxPixels ?? MAX_PIXELS;
  if (bytes.length === 0) throw new ImageProblem('empty', 'the file is empty (0 bytes)');
  const format = sniffFormat(bytes.subarray(0, SNIFF_BYTES));
  if (!format) {
    if (looksLikeText(bytes.subarray(0, 512))) throw new ImageProblem('not-an-image', 'the file holds text, not a picture');
    throw new ImageProblem('corrupt', 'the file is not in any image format Foldwise knows');
  }
  let raw: sharp.Sharp;
  let meta: sharp.Metadata;
  if (format === 'bmp' || format === 'heic') {
    raw = format === 'bmp' ? openBmp(bytes, maxPixels) : await openHeic(bytes, maxPixels);
    meta = await raw.metadata();
  } else {
    // failOn 'truncated': cut-off files fail, harmless warnings in otherwise good photos do not.
    // The pixel limit is checked from the header alone, before a single pixel is decoded.
    raw = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' });
    try {
      meta = await raw.metadata();
    } catch (error) {
      const problem = classifyDecodeError(error, format, bytes);
      if (problem.kind !== 'too-large') throw problem;
      const header = await sharp(bytes, { limitInputPixels: false }).metadata().catch(() => null);
      throw (header && tooLarge(header.width ?? 0, header.height ?? 0, maxPixels)) || problem;
    }
  }
  const swap = (meta.orientation ?? 1) >= 5;
  const width = (swap ? meta.height : meta.width) ?? 0;
  const height = (swap ? meta.width : meta.height) ?? 0;
  if (width <= 0 || height <= 0) throw new ImageProblem('corrupt', 'the header gives no picture size');
  return { image: normalise(raw, meta), format, width, height };
}

/** Runs a sharp output and turns decoder failures into ImageProblem (truncated vs corrupt). */
export async function finish<T>(work: Promise<T>, format: ImageFormat, bytes: Buffer): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw error instanceof ImageProblem ? error : classifyDecodeError(error, format, bytes);
  }
}

async function readBytes(input: string | Buffer): Promise<Buffer> {
  if (typeof input !== 'string') return input;
  try {
    return await fs.promises.readFile(input);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImageProblem(code === 'ELOOP' ? 'symlink-loop' : 'unreadable', `${path.basename(input)}: ${(error as Error).message}`);
  }
}

/**
 * A sharp pipeline of the photo, normalised (HEIC, BMP, CMYK, 16-bit, alpha, EXIF orientation
 * handled), ready for resize or augmentation. Throws ImageProblem for files that are not usable photos.
 */
export async function loadImage(input: string | Buffer): Promise<sharp.Sharp> {
  return (await openImage(await readBytes(input))).image;
}

/** Pixels for a model: RGB 0-255, size*size*3, HWC; shorter side resized to `size`, then centre-cropped. */
export async function decodeForModel(input: string | Buffer, recipe: ResizeRecipe): Promise<Uint8Array> {
  const bytes = await readBytes(input);
  const { image, format } = await openImage(bytes);
  const { data, info } = await finish(
    image
      .resize(recipe.size, recipe.size, { fit: 'cover', position: 'centre', kernel: recipe.interpolation === 'bilinear' ? 'linear' : 'lanczos3' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }),
    format,
    bytes,
  );
  if (info.channels !== 3 || info.width !== recipe.size || info.height !== recipe.size) {
    throw new ImageProblem('corrupt', `decoded to ${info.width}x${info.height}x${info.channels}, expected ${recipe.size}x${recipe.size}x3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Absolute path of the cached thumbnail (JPEG) of the image whose content id is `id`. */
export function thumbnailFile(id: string): string {
  return path.join(cacheDir(), 'thumbnails', id.slice(0, 2), `${id}.jpg`);
}
