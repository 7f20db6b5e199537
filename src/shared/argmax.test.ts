import { describe, expect, it } from 'vitest';
import { argmax } from './argmax';

describe('argmax', () => {
  it('finds the largest in a whole array, the first one on a tie', () => {
    expect(argmax([0.1, 0.7, 0.2])).toBe(1);
    expect(argmax([0.4, 0.4, 0.2])).toBe(0);
  });

  it('reads one row of a flat [rows, classes] array, relative to the row', () => {
    const rows = Float32Array.from([0.9, 0.1, 0.0, /* row 1 */ 0.2, 0.3, 0.5]);
    expect(argmax(rows, 0, 3)).toBe(0);
    expect(argmax(rows, 3, 3)).toBe(2);
  });
});
