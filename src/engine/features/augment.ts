// Augmented views of a training photo: random-resized crop, small rotation, horizontal flip and
// lighting. Each view's parameters come from a hash of (image, view index, seed), never from
// Math.random, so a cached view is exactly the view that would be computed again.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { loadImage } from '../dataset';

/** Bump when the recipe below changes: it is part of every view's cache key. */
export const AUGMENT_VERSION = 1;

export interface ViewParams {
  flip: boolean;
  /** Degrees, clockwise. */
  angle: number;
  /** Fraction of the usable area kept by the crop, and the crop's width/height ratio. */
  area: number;
  ratio: number;
  /** Where the crop sits inside the free room, 0..1 on each axis. */
  x: number;
  y: number;
  brightness: number;
  contrast: number;
}

const LIMITS = { angle: 10, area: [0.5, 1], ratio: [3 / 4, 4 / 3], brightness: 0.2, contrast: 0.2 } as const;

/** Deterministic parameters of view `view` of the image with content id `contentId`. */
export function viewParams(contentId: string, view: number, seed: number): ViewParams {
  const random = seededRandom(`${contentId}|${view}|${seed}|v${AUGMENT_VERSION}`);
  const between = (lo: number, hi: number) => lo + (hi - lo) * random();
  return {
    flip: random() < 0.5,
    angle: between(-LIMITS.angle, LIMITS.angle),
    area: between(LIMITS.area[0], LIMITS.area[1]),
    ratio: Math.exp(between(Math.log(LIMITS.ratio[0]), Math.log(LIMITS.ratio[1]))),
    x: random(),
    y: random(),
    brightness: between(1 - LIMITS.brightness, 1 + LIMITS.brightness),
    contrast: between(1 - LIMITS.contrast, 1 + LIMITS.contrast),
  };
}

/** The transform description that goes into the cache key of an augmented view. */
export function describeView(view: number, seed: number, size: number): string {
  return `aug${AUGMENT_VERSION}:view=${view}:seed=${seed}:size=${size}:rrc(${LIMITS.area.join('-')}):rot${LIMITS.angle}:flip:light${LIMITS.brightness}`;
}

/**
 * Renders the given views of one photo as size*size*3 RGB pixels (HWC, 0-255).
 * The photo is decoded once (EXIF orientation and colour handled by loadImage), capped so its shorter
 * side is at most 2*size (enough detail for the smallest crop), and every view starts from those pixels.
 */
export async function renderViews(source: string | Buffer, size: number, views: ViewParams[]): Promise<Uint8Array[]> {
  if (views.length === 0) return [];
  const image = await loadImage(source);
  const base = await image
    .resize({ width: 2 * size, height: 2 * size, fit: 'outside', withoutEnlargement: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { width: base.info.width, height: base.info.height, channels: 3 as const };
  return Promise.all(views.map((v) => renderView(base.data, raw, size, v)));
}

async function renderView(
  data: Buffer,
  raw: { width: number; height: number; channels: 3 },
  size: number,
  v: ViewParams,
): Promise<Uint8Array> {
  let pixels = data;
  let { width, height } = raw;
  // The crop must stay inside the rotated photo, away from the filled corners.
  let room = { left: 0, top: 0, width, height };
  if (Math.abs(v.angle) >= 0.5) {
    const rotated = await sharp(data, { raw }).rotate(v.angle, { background: { r: 0, g: 0, b: 0 } }).raw().toBuffer({ resolveWithObject: true });
    const inner = largestInnerRect(width, height, (v.angle * Math.PI) / 180);
    pixels = rotated.data;
    width = rotated.info.width;
    height = rotated.info.height;
    const w = Math.max(1, Math.min(width, Math.floor(inner.width)));
    const h = Math.max(1, Math.min(height, Math.floor(inner.height)));
    room = { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
  }
  const area = room.width * room.height * v.area;
  const cropW = clampInt(Math.sqrt(area * v.ratio), 1, room.width);
  const cropH = clampInt(Math.sqrt(area / v.ratio), 1, room.height);
  const left = room.left + Math.floor(v.x * (room.width - cropW + 1 - 1e-9));
  const top = room.top + Math.floor(v.y * (room.height - cropH + 1 - 1e-9));
  // Contrast around mid-grey, then brightness: out = b*(c*(in-128)+128).
  const scale = v.brightness * v.contrast;
  const offset = v.brightness * 128 * (1 - v.contrast);
  let pipeline = sharp(pixels, { raw: { width, height, channels: 3 } })
    .extract({ left, top, width: cropW, height: cropH })
    .resize(size, size, { fit: 'fill', kernel: 'linear' });
  if (v.flip) pipeline = pipeline.flop();
  const out = await pipeline.linear(scale, offset).raw().toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Mirrors size*size*3 HWC pixels left-right (the TTA flip, cheaper than decoding again). */
export function flipHorizontal(pixels: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(pixels.length);
  const row = size * 3;
  for (let y = 0; y < size; y++) {
    const base = y * row;
    for (let x = 0; x < size; x++) {
      const from = base + x * 3;
      const to = base + (size - 1 - x) * 3;
      out[to] = pixels[from]!;
      out[to + 1] = pixels[from + 1]!;
      out[to + 2] = pixels[from + 2]!;
    }
  }
  return out;
}

/** Largest axis-aligned rectangle inside a w*h rectangle rotated by `angle` radians (centred). */
export function largestInnerRect(w: number, h: number, angle: number): { width: number; height: number } {
  const sin = Math.abs(Math.sin(angle));
  const cos = Math.abs(Math.cos(angle));
  const long = Math.max(w, h);
  const short = Math.min(w, h);
  if (short <= 2 * sin * cos * long || Math.abs(sin - cos) < 1e-10) {
    const x = 0.5 * short;
    return w >= h ? { width: x / sin, height: x / cos } : { width: x / cos, height: x / sin };
  }
  const cos2 = cos * cos - sin * sin;
  return { width: (w * cos - h * sin) / cos2, height: (h * cos - w * sin) / cos2 };
}

function clampInt(value: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.round(value)));
}

/** mulberry32 seeded from sha256(text): small, fast and the same on every platform. */
function seededRandom(text: string): () => number {
  let state = createHash('sha256').update(text).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
