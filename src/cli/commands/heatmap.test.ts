import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../engine/interpret/fixtures.test-helpers';
import { writeTestRun } from '../../engine/run/test-run.test-helpers';
import { readRun } from '../../engine/run';
import { classIndexOf } from './heatmap';

describe('classIndexOf', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeTestRun(path.join(tempDir(), 'run'), {
      classes: ['daisy', 'Rose', 'tulip'],
      items: [{ file: 'a.jpg', id: 'a', split: 'valid', label: 'daisy', probabilities: [1, 0, 0] }],
    });
  });

  const classes = async () => (await readRun(dir)).classes;

  it('finds a class by name, ignoring case, or by number', async () => {
    expect(classIndexOf(await classes(), 'tulip')).toBe(2);
    expect(classIndexOf(await classes(), 'rose')).toBe(1);
    expect(classIndexOf(await classes(), '0')).toBe(0);
  });

  it('lists the classes when the name is not one of them', async () => {
    const names = await classes();
    expect(() => classIndexOf(names, 'sunflower')).toThrow(expect.objectContaining({ name: 'review/unknown-class', message: expect.stringContaining('daisy, Rose, tulip') }));
    expect(() => classIndexOf(names, '3')).toThrow(expect.objectContaining({ name: 'review/unknown-class' }));
  });
});
