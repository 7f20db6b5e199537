// A small seeded random source passed around explicitly, so shuffles, dropout masks and weight
// initialisation repeat exactly for the same seed (Math.random cannot be seeded).

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** A 31-bit integer, to seed tfjs ops that take a seed. */
  seed(): number;
  /** Inverted-dropout mask: each entry is `scale` with probability `keep`, else 0. */
  mask(size: number, keep: number, scale: number): Float32Array;
  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T;
}

/** mulberry32: tiny, fast and good enough for shuffling and dropout masks. */
export function createRandom(seed: number): Random {
  let state = (seed >>> 0) ^ 0x9e3779b9;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    mask(size, keep, scale) {
      // The same generator as next(), inlined, with each 32-bit draw split into four bytes (so the
      // kept share is keep rounded to 1/256): a head's dropout needs ~80,000 draws a batch, and one
      // call per number was a third of training time.
      const mask = new Float32Array(size);
      const threshold = Math.round(keep * 256);
      let s = state;
      for (let i = 0; i < size; i += 4) {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        t = (t ^ (t >>> 14)) >>> 0;
        for (let k = 0; k < 4 && i + k < size; k++) if (((t >>> (8 * k)) & 255) < threshold) mask[i + k] = scale;
      }
      state = s;
      return mask;
    },
    seed: () => Math.floor(next() * 0x7fffffff),
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const tmp = items[i];
        items[i] = items[j];
        items[j] = tmp;
      }
      return items;
    },
  };
}
