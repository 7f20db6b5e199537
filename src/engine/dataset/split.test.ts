import { describe, expect, it } from 'vitest';
import { assignValidation, pathFraction, splitOfFolder } from './split';

describe('split', () => {
  it('recognises split folder names in any case', () => {
    expect(['train', 'VALID', 'Val', 'validation', 'Test', 'cats'].map(splitOfFolder)).toEqual(['train', 'valid', 'valid', 'valid', 'test', null]);
  });

  it('holds out about the asked share of every class, decided by the path alone', () => {
    const files = [...Array.from({ length: 500 }, (_, i) => ({ file: `cats/${i}.jpg`, label: 'cats' })), ...Array.from({ length: 100 }, (_, i) => ({ file: `dogs/${i}.jpg`, label: 'dogs' }))];
    const split = assignValidation(files, 0.2);
    const share = (label: string) => files.filter((f) => f.label === label && split.get(f.file) === 'valid').length / files.filter((f) => f.label === label).length;
    expect(share('cats')).toBeGreaterThan(0.14);
    expect(share('cats')).toBeLessThan(0.26);
    expect(share('dogs')).toBeGreaterThan(0.08);
    expect(share('dogs')).toBeLessThan(0.32);
    for (const f of files) expect(split.get(f.file)).toBe(pathFraction(f.file) < 0.2 ? 'valid' : 'train');
  });

  it('gives a small class at least one validation photo', () => {
    const files = [{ file: 'x/a.jpg', label: 'x' }, { file: 'x/b.jpg', label: 'x' }];
    const split = assignValidation(files, 0.0001);
    expect([...split.values()].sort()).toEqual(['train', 'valid']);
  });
});
