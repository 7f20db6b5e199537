// A small seeded random source passed around explicitly, so shuffles, dropout masks and weight
// initialisation repeat exactly for the same seed (Math.random cannot be seeded).

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** A 31-bit integer, to seed tfjs ops that take a seed. */
  seed(): number;
  /** Inverted dropout in place: each value is multiplied by `scale` with probability `keep`, else set to 0. Returns `values`. */
  dropout(values: Float32Array, keep: number, scale: number): Float32Array;
  /** An inverted-dropout mask: each entry is `scale` with probability `keep`, else 0 (the same draws as dropout). */
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
  const dropout: Random['dropout'] = (values, keep, scale) => {
    // The same generator as next(), inlined, with each 32-bit draw split into four bytes (so the
    // kept share is keep rounded to 1/256): a head's dropout needs ~80,000 draws a batch, and one
    // call per number was a third of training time. Scaling here rather than multiplying by a mask
    // tensor saves a mask's allocation and a tensor op per batch; the product of two float32 values
    // is exact in a double, so storing it rounds once, as a float32 multiply would.
    const factor = Math.fround(scale);
    const threshold = Math.round(keep * 256);
    const n = values.length;
    let s = state;
    for (let i = 0; i < n; i += 4) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      t = (t ^ (t >>> 14)) >>> 0;
      if (i + 4 <= n) {
        // Branch-free: (byte - threshold) >>> 31 is 1 when the byte is below the threshold, else 0.
        // A 20% chance of dropping makes a branch mispredict often; this halves the loop's time.
        values[i] = values[i]! * (factor * (((t & 255) - threshold) >>> 31));
        values[i + 1] = values[i + 1]! * (factor * ((((t >>> 8) & 255) - threshold) >>> 31));
        values[i + 2] = values[i + 2]! * (factor * ((((t >>> 16) & 255) - threshold) >>> 31));
        values[i + 3] = values[i + 3]! * (factor * (((t >>> 24) - threshold) >>> 31));
      } else {
        for (let k = 0; i + k < n; k++, t >>>= 8) values[i + k] = (t & 255) < threshold ? values[i + k]! * factor : 0;
      }
    }
    state = s;
    return values;
  };
  return {
    next,
    int,
    dropout,
    mask: (size, keep, scale) => dropout(new Float32Array(size).fill(1), keep, scale),
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
