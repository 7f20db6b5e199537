import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient, createPortPair, RemoteError, serveRpc } from '../../shared/rpc';
import { evaluateRun } from './evaluate';
import { tempDir } from './fixtures.test-helpers';
import { writeTestRun } from '../run/test-run.test-helpers';
import { reviewHandlers } from './handlers';

const classes = ['ants', 'bees'];
const items = [
  { file: 'valid/ants/1.jpg', path: '/photos/valid/ants/1.jpg', id: 'a1', split: 'valid' as const, label: 'ants', probabilities: [0.9, 0.1] },
  { file: 'valid/ants/2.jpg', path: '/photos/valid/ants/2.jpg', id: 'a2', split: 'valid' as const, label: 'ants', probabilities: [0.2, 0.8] },
  { file: 'valid/bees/1.jpg', path: '/photos/valid/bees/1.jpg', id: 'b1', split: 'valid' as const, label: 'bees', probabilities: [0.4, 0.6] },
  { file: 'train/bees/9.jpg', path: '/photos/train/bees/9.jpg', id: 'b9', split: 'train' as const, label: 'bees', probabilities: [0.95, 0.05] },
];

async function rejection(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('evaluateRun', () => {
  it('reviews a finished run folder', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items });
    const review = await evaluateRun(dir);
    expect(review.runDir).toBe(dir);
    expect(review.confusion).toEqual([
      [1, 1],
      [0, 1],
    ]);
    expect(review.accuracy).toBeCloseTo(2 / 3);
    expect(review.topLosses.map((i) => i.file)).toEqual(['valid/ants/2.jpg']);
    expect(review.likelyMislabelled.map((i) => i.file)).toEqual(['train/bees/9.jpg']);
  });

  it('says which folder is missing and how to make one', async () => {
    const dir = path.join(tempDir(), 'nope');
    const error = await rejection(evaluateRun(dir));
    expect(error.name).toBe('run/missing');
    expect(error.message).toContain(dir);
    expect(error.message).toContain('foldwise train');
  });

  it('says a run that crashed or is still training did not finish', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items, unfinished: true });
    const error = await rejection(evaluateRun(dir));
    expect(error.name).toBe('run/incomplete');
    expect(error.message).toContain(dir);
    expect(error.message).toContain('still running');
  });

  it('says a run folder without its result did not finish', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items });
    fs.rmSync(path.join(dir, 'result.json'));
    const error = await rejection(evaluateRun(dir));
    expect(error.name).toBe('run/incomplete');
    expect(error.message).toContain(dir);
    expect(error.message).toContain('result.json');
  });

  it('names the damaged file when predictions do not match the classes', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items: [{ ...items[0]!, probabilities: [1, 0, 0] }] });
    const error = await rejection(evaluateRun(dir));
    expect(error.name).toBe('run/damaged');
    expect(error.message).toContain(path.join(dir, 'predictions.json'));
    expect(error.message).toContain('valid/ants/1.jpg');

    fs.writeFileSync(path.join(dir, 'predictions.json'), '{ not json');
    expect((await rejection(evaluateRun(dir))).name).toBe('run/damaged');
    fs.rmSync(path.join(dir, 'predictions.json'));
    const missing = await rejection(evaluateRun(dir));
    expect(missing.name).toBe('run/incomplete');
    expect(missing.message).toContain('predictions.json');
  });

  it('refuses a run with no validation images', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items: items.filter((i) => i.split === 'train') });
    expect((await rejection(evaluateRun(dir))).name).toBe('run/no-validation');
  });
});

describe('review/evaluate over the rpc', () => {
  it('returns a schema-valid Interpretation with progress, and errors by name', async () => {
    const [enginePort, clientPort] = createPortPair();
    serveRpc(enginePort, reviewHandlers());
    const client = createClient(clientPort);
    const stages: string[] = [];
    client.on('job/progress', (p) => stages.push(`${p.stage} ${p.done}/${p.total}`));
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items });
    const review = await client.call('review/evaluate', { runDir: dir });
    expect(review.perClass.map((c) => c.support)).toEqual([2, 1]);
    expect(stages).toEqual(['evaluate 0/1', 'evaluate 1/1']);
    const error = await rejection(client.call('review/evaluate', { runDir: path.join(dir, 'missing') }));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.name).toBe('run/missing');
  });
});
