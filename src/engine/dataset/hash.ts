// Fingerprints of photos: a content id (exact duplicates, cache keys) and a 64-bit difference hash
// (near duplicates: the same photo re-saved, resized or slightly recompressed).
import crypto from 'node:crypto';

/** Content id: the first 128 bits of SHA-256, hex. Equal ids mean byte-identical files. */
export function contentId(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

/**
 * dHash: shrink to a 9x8 (or 8x9) grey grid by box averaging, then one bit per neighbour pair: is the
 * left (or upper) cell brighter? Takes interleaved 8-bit pixels (first three channels used as RGB).
 * Returns 16 hex digits: 64 bits.
 */
export function differenceHash(pixels: Uint8Array, width: number, height: number, channels: number, direction: 'horizontal' | 'vertical' = 'horizontal'): string {
  const cols = direction === 'horizontal' ? 9 : 8;
  const rows = direction === 'horizontal' ? 8 : 9;
  const grey = new Float64Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    const y0 = Math.floor((r * height) / rows);
    const y1 = Math.max(y0 + 1, Math.floor(((r + 1) * height) / rows));
    for (let c = 0; c < cols; c++) {
      const x0 = Math.floor((c * width) / cols);
      const x1 = Math.max(x0 + 1, Math.floor(((c + 1) * width) / cols));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        let i = (y * width + x0) * channels;
        for (let x = x0; x < x1; x++, i += channels) {
          sum += channels >= 3 ? 0.299 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.114 * pixels[i + 2]! : pixels[i]!;
        }
      }
      grey[r * cols + c] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  let hex = '';
  for (let k = 0; k < 8; k++) {
    let byte = 0;
    for (let j = 0; j < 8; j++) {
      const [a, b] = direction === 'horizontal' ? [k * cols + j, k * cols + j + 1] : [j * cols + k, (j + 1) * cols + k];
      byte = (byte << 1) | (grey[a]! > grey[b]! ? 1 : 0);
    }
    hex += byte.toString(16).padStart(2, '0');
  }
  return hex;
}

/** Both directions: 32 hex digits, horizontal then vertical. Near copies are close in both. */
export function pictureHash(pixels: Uint8Array, width: number, height: number, channels: number): string {
  return differenceHash(pixels, width, height, channels, 'horizontal') + differenceHash(pixels, width, height, channels, 'vertical');
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

type Hash64 = readonly [number, number];
const split = (hex: string): Hash64 => [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8, 16), 16) >>> 0];

export function hammingDistance(a: string, b: string): number {
  const [a1, a2] = split(a);
  const [b1, b2] = split(b);
  return popcount((a1 ^ b1) >>> 0) + popcount((a2 ^ b2) >>> 0);
}

interface BkNode {
  item: number;
  hash: Hash64;
  children: Map<number, BkNode>;
}

/**
 * All pairs (i, j), i < j, whose hashes differ in at most `maxDistance` bits. A BK-tree keeps this
 * far from n^2: each lookup visits only subtrees whose distance band can still hold a match.
 */
export function nearPairs(hashes: readonly string[], maxDistance: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  let root: BkNode | null = null;
  const distance = (a: Hash64, b: Hash64) => popcount((a[0] ^ b[0]) >>> 0) + popcount((a[1] ^ b[1]) >>> 0);
  hashes.forEach((hex, item) => {
    const hash = split(hex);
    if (!root) {
      root = { item, hash, children: new Map() };
      return;
    }
    // Query first (so every earlier item is considered), then insert.
    const stack: BkNode[] = [root];
    while (stack.length) {
      const node = stack.pop()!;
      const d = distance(node.hash, hash);
      if (d <= maxDistance) pairs.push([node.item, item]);
      for (const [edge, child] of node.children) if (edge >= d - maxDistance && edge <= d + maxDistance) stack.push(child);
    }
    let node: BkNode = root;
    for (;;) {
      const d = distance(node.hash, hash);
      const next = node.children.get(d);
      if (!next) {
        node.children.set(d, { item, hash, children: new Map() });
        break;
      }
      node = next;
    }
  });
  return pairs;
}
