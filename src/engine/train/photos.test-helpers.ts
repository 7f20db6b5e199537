// Tiny made-up photos for the tests that run the real backbone (run.test.ts, fine-tune.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** Noisy 32x32 squares in dir/red and dir/blue: "red" photos are mostly red, "blue" ones mostly blue. */
export async function makePhotos(dir: string, perClass: number): Promise<void> {
  for (const [label, channel] of [['red', 0], ['blue', 2]] as const) {
    fs.mkdirSync(path.join(dir, label), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const pixels = Buffer.alloc(32 * 32 * 3);
      for (let p = 0; p < 32 * 32; p++) {
        for (let c = 0; c < 3; c++) pixels[p * 3 + c] = c === channel ? 150 + ((p * 7 + i * 13) % 100) : (p * 31 + i * 17 + c * 5) % 90;
      }
      await sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(path.join(dir, label, `${label}_${i}.png`));
    }
  }
}
