import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { reviewPredictions } from '../../engine/interpret/review';
import { tempDir } from '../../engine/interpret/fixtures.test-helpers';
import { writeTestRun } from '../../engine/run/test-run.test-helpers';
import { formatReview } from './evaluate';

const run = promisify(execFile);
const classes = ['ants', 'bees'];
const items = [
  { file: 'valid/ants/1.jpg', id: 'a1', split: 'valid' as const, label: 'ants', probabilities: [0.9, 0.1] },
  { file: 'valid/ants/2.jpg', id: 'a2', split: 'valid' as const, label: 'ants', probabilities: [0.2, 0.8] },
  { file: 'valid/bees/1.jpg', id: 'b1', split: 'valid' as const, label: 'bees', probabilities: [0.4, 0.6] },
  { file: 'train/bees/9.jpg', id: 'b9', split: 'train' as const, label: 'bees', probabilities: [0.95, 0.05] },
];

describe('formatReview', () => {
  it('prints accuracy, the matrix, per-class scores and the image lists', () => {
    const text = formatReview(reviewPredictions('/runs/r1', classes, items));
    expect(text).toContain('Accuracy on the validation photos: 66.7% (2 of 3)');
    expect(text).toMatch(/ants\s+1\s+1\n\s+bees\s+0\s+1/);
    expect(text).toMatch(/ants\s+100\.0%\s+50\.0%\s+0\.667\s+2/);
    expect(text).toContain('ants taken for bees: 1 photo');
    expect(text).toMatch(/Top losses[^\n]*\n[^\n]*\n\s+valid\/ants\/2\.jpg\s+ants\s+bees\s+80\.0%/);
    expect(text).toMatch(/Likely mislabelled[^\n]*\n[^\n]*\n\s+train\/bees\/9\.jpg\s+bees\s+ants\s+95\.0%/);
  });

  it('says so when there is nothing to list', () => {
    const text = formatReview(reviewPredictions('/r', classes, [items[0]!]));
    expect(text).toContain('none: no mistakes on the validation photos');
    expect(text).toContain('none found: the model agrees with the training labels');
  });
});

describe('foldwise evaluate', () => {
  const cli = path.resolve(__dirname, '..', 'index.ts');
  const tsx = path.resolve(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');

  it('prints one JSON object with --json, and a named error with exit code 1 for a missing run', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items });
    const ok = await run(tsx, [cli, 'evaluate', dir, '--json']);
    const review = JSON.parse(ok.stdout);
    expect(review.confusion).toEqual([
      [1, 1],
      [0, 1],
    ]);
    expect(review.likelyMislabelled.map((i: { file: string }) => i.file)).toEqual(['train/bees/9.jpg']);

    const missing = path.join(dir, 'not-here');
    const failed = await run(tsx, [cli, 'evaluate', missing, '--json']).then(
      () => null,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(JSON.parse(failed!.stdout).error).toMatchObject({ name: 'run/missing' });
    expect(JSON.parse(failed!.stdout).error.message).toContain(missing);
  });
});
