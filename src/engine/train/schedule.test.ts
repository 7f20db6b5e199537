import { describe, expect, it } from 'vitest';
import { headEpochsFor } from './schedule';

const length = { epochs: 30, batchSize: 64, maxUpdates: 1500, minEpochs: 5 };

describe('headEpochsFor', () => {
  it('keeps the recipe\'s epochs while they fit the update budget', () => {
    expect(headEpochsFor(244, length)).toBe(30); // hymenoptera: 4 batches an epoch
    expect(headEpochsFor(1600, length)).toBe(30); // dogs_vs_cats: 750 updates
    expect(headEpochsFor(3200, length)).toBe(30); // exactly 1500 updates
  });

  it('trains a big folder for as many epochs as fit the budget', () => {
    expect(headEpochsFor(9600, length)).toBe(10); // 150 batches an epoch
    expect(headEpochsFor(4800, length)).toBe(20);
  });

  it('never goes under the minimum epochs, nor above the recipe\'s', () => {
    expect(headEpochsFor(200_000, length)).toBe(5);
    expect(headEpochsFor(200_000, { ...length, epochs: 3 })).toBe(3);
    expect(headEpochsFor(0, length)).toBe(30);
  });
});
