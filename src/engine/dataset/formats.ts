// What a file really is, from its first bytes: extensions lie (a PNG saved as .jpg, IMG_0001.JPG,
// a text file renamed .jpeg), so every decision about a file starts here.

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'bmp' | 'avif' | 'heic';

/** Extensions people give photos. Files with these names are expected to be images. */
export const IMAGE_EXTENSIONS = new Set([
  '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.gif', '.webp', '.tif', '.tiff', '.bmp', '.dib', '.avif', '.heic', '.heif',
]);

/** How many leading bytes sniffing needs. */
export const SNIFF_BYTES = 64;

const ascii = (b: Uint8Array, start: number, end: number) => String.fromCharCode(...b.subarray(start, end));

// HEIF brands (see libheif and the file-type package): HEVC-coded stills and sequences.
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

function sniffIsoMedia(b: Uint8Array): ImageFormat | null {
  if (b.length < 12 || ascii(b, 4, 8) !== 'ftyp') return null;
  const major = ascii(b, 8, 12);
  if (AVIF_BRANDS.has(major)) return 'avif';
  if (!HEIC_BRANDS.has(major)) return null;
  // 'mif1' is the generic HEIF brand: the compatible brands say whether the picture inside is AV1 or HEVC.
  const boxSize = Math.min(b.length, (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!);
  for (let i = 16; i + 4 <= boxSize; i += 4) if (AVIF_BRANDS.has(ascii(b, i, i + 4))) return 'avif';
  return 'heic';
}

/** The image format the bytes start with, or null when they are not an image we know. */
export function sniffFormat(b: Uint8Array): ImageFormat | null {
  if (b.length < 4) return null;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b[0] === 0x89 && ascii(b, 1, 4) === 'PNG') return 'png';
  if (ascii(b, 0, 4) === 'GIF8') return 'gif';
  if (ascii(b, 0, 4) === 'RIFF' && b.length >= 12 && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a)) return 'tiff';
  if (b[0] === 0x42 && b[1] === 0x4d && b.length >= 18) return 'bmp';
  return sniffIsoMedia(b);
}

/** True when the bytes look like a text document (no NUL bytes, mostly printable). */
export function looksLikeText(b: Uint8Array): boolean {
  if (b.length === 0) return false;
  let printable = 0;
  for (const byte of b) {
    if (byte === 0) return false;
    if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127) || byte >= 128) printable++;
  }
  return printable / b.length > 0.95;
}

/** True when a file that decoded badly is missing its end marker, i.e. it was cut off mid-copy. */
export function lacksEndMarker(format: ImageFormat, b: Uint8Array): boolean {
  if (format === 'jpeg') {
    // Tolerate a little padding after the end-of-image marker FF D9.
    for (let i = b.length - 2; i >= Math.max(0, b.length - 64); i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return false;
    return true;
  }
  if (format === 'png') return ascii(b, Math.max(0, b.length - 8), b.length - 4) !== 'IEND';
  if (format === 'gif') return b[b.length - 1] !== 0x3b;
  return false;
}
