import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFakeRun } from '../../engine/interpret/fixtures.test-helpers';
import { classIndexOf } from './heatmap';

describe('classIndexOf', () => {
  const dir = writeFakeRun(path.join(tempDir(), 'run'), {
    classes: ['daisy', 'Rose', 'tulip'],
    items: [{ file: 'a.jpg', id: 'a', split: 'valid', label: 'daisy', probabilities: [1, 0, 0] }],
  });

  it('finds a class by name, ignoring case, or by number', async () => {
    expect(await classIndexOf(dir, 'tulip')).toBe(2);
    expect(await classIndexOf(dir, 'rose')).toBe(1);
    expect(await classIndexOf(dir, '0')).toBe(0);
  });

  it('lists the classes when the name is not one of them', async () => {
    await expect(classIndexOf(dir, 'sunflower')).rejects.toMatchObject({ name: 'review/unknown-class', message: expect.stringContaining('daisy, Rose, tulip') });
    await expect(classIndexOf(dir, '3')).rejects.toMatchObject({ name: 'review/unknown-class' });
  });
});
