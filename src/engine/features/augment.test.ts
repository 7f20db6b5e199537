import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeForModel } from '../dataset';
import { sharedDir } from '../paths';
import { flipHorizontal, largestInnerRect, renderViews, viewParams } from './augment';

const photo = path.join(sharedDir(), 'datasets', 'dogs_vs_cats', 'train', 'dogs', 'dog.1.jpg');
const differingBytes = (a: Uint8Array, b: Uint8Array) => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);

describe('augmented views', () => {
  it('draws the same parameters for the same (photo, view, seed) and others otherwise', () => {
    expect(viewParams('id1', 0, 42)).toEqual(viewParams('id1', 0, 42));
    expect(viewParams('id1', 1, 42)).not.toEqual(viewParams('id1', 0, 42));
    expect(viewParams('id1', 0, 43)).not.toEqual(viewParams('id1', 0, 42));
    expect(viewParams('id2', 0, 42)).not.toEqual(viewParams('id1', 0, 42));
    for (let v = 0; v < 50; v++) {
      const p = viewParams('id1', v, 1);
      expect(Math.abs(p.angle)).toBeLessThanOrEqual(10);
      expect(p.area).toBeGreaterThanOrEqual(0.5);
      expect(p.brightness).toBeGreaterThanOrEqual(0.8);
      expect(p.brightness).toBeLessThanOrEqual(1.2);
    }
  });

  it('renders views that differ from the centre crop and from each other, identically every time', async () => {
    const params = [0, 1].map((v) => viewParams('dog.1', v, 42));
    const [first, second] = await Promise.all([renderViews(photo, 224, params), renderViews(photo, 224, params)]);
    const centre = await decodeForModel(photo, { size: 224, resize: 'shorter-side', crop: 'center', interpolation: 'bilinear' });
    expect(first).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      expect(first[i]!.length).toBe(224 * 224 * 3);
      expect(first[i]).toEqual(second[i]);
      expect(differingBytes(first[i]!, centre)).toBeGreaterThan(224 * 224); // far from the centre crop
    }
    expect(differingBytes(first[0]!, first[1]!)).toBeGreaterThan(224 * 224);
  });

  it('keeps rotated crops inside the photo (no filled corners)', () => {
    expect(largestInnerRect(400, 300, 0)).toEqual({ width: 400, height: 300 });
    const r = largestInnerRect(400, 300, (10 * Math.PI) / 180);
    expect(r.width).toBeLessThan(400);
    expect(r.height).toBeLessThan(300);
    expect(r.width * r.height).toBeGreaterThan(0.6 * 400 * 300);
  });

  it('mirrors pixels left-right, and twice gives the original', () => {
    const size = 3;
    const pixels = Uint8Array.from({ length: size * size * 3 }, (_, i) => i);
    const flipped = flipHorizontal(pixels, size);
    expect(Array.from(flipped.subarray(0, 9))).toEqual([6, 7, 8, 3, 4, 5, 0, 1, 2]);
    expect(flipHorizontal(flipped, size)).toEqual(pixels);
  });
});
