import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { contentId, differenceHash, hammingDistance, nearPairs } from './hash';
import { picture } from './corpus.test-helpers';

async function dhashOf(image: sharp.Sharp): Promise<string> {
  const { data, info } = await image.resize(128, 128, { fit: 'inside', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
  return differenceHash(data, info.width, info.height, info.channels);
}

describe('fingerprints', () => {
  it('content ids differ for different bytes and match for equal ones', () => {
    expect(contentId(Buffer.from('a'))).toBe(contentId(Buffer.from('a')));
    expect(contentId(Buffer.from('a'))).not.toBe(contentId(Buffer.from('b')));
    expect(contentId(Buffer.from('a'))).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a resized, recompressed copy hashes close; a different picture does not', async () => {
    const original = await (await picture(7, 300, 200)).jpeg({ quality: 95 }).toBuffer();
    const copy = await sharp(original).resize(150).jpeg({ quality: 50 }).toBuffer();
    const other = await (await picture(8, 300, 200)).jpeg({ quality: 95 }).toBuffer();
    const [a, b, c] = await Promise.all([original, copy, other].map((x) => dhashOf(sharp(x))));
    expect(hammingDistance(a!, b!)).toBeLessThanOrEqual(2);
    expect(hammingDistance(a!, c!)).toBeGreaterThan(12);
  });
});

describe('nearPairs', () => {
  it('finds exactly the pairs a brute-force comparison finds', () => {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xffff;
    const base = Array.from({ length: 300 }, () => Array.from({ length: 4 }, () => rnd().toString(16).padStart(4, '0')).join(''));
    // Plant near copies: flip 0-5 bits of some hashes.
    const hashes = [...base];
    for (let i = 0; i < 40; i++) {
      const src = base[i * 7]!;
      let v = BigInt(`0x${src}`);
      for (let k = 0; k < i % 6; k++) v ^= 1n << BigInt((i * 13 + k * 17) % 64);
      hashes.push(v.toString(16).padStart(16, '0'));
    }
    const brute: string[] = [];
    for (let i = 0; i < hashes.length; i++) for (let j = i + 1; j < hashes.length; j++) if (hammingDistance(hashes[i]!, hashes[j]!) <= 4) brute.push(`${i}-${j}`);
    const fast = nearPairs(hashes, 4).map(([i, j]) => `${Math.min(i, j)}-${Math.max(i, j)}`);
    expect(fast.sort()).toEqual(brute.sort());
    expect(brute.length).toBeGreaterThanOrEqual(30);
  });
});
