// The run folder's one reader: what it accepts, and what it says about folders it cannot open.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../interpret/fixtures.test-helpers';
import { readRun, readRunResult } from './reader';
import { writeTestRun } from './test-run.test-helpers';
import { openRunWriter } from './writer';

const classes = ['ants', 'bees'];
const items = [
  { file: 'valid/ants/1.jpg', id: 'a1', split: 'valid' as const, label: 'ants', probabilities: [0.8, 0.2] },
  { file: 'valid/bees/1.jpg', id: 'b1', split: 'valid' as const, label: 'bees', probabilities: [0.6, 0.4] },
  { file: 'train/ants/2.jpg', id: 'a2', split: 'train' as const, label: 'ants', probabilities: [0.9, 0.1] },
];

const edit = (dir: string, name: string, change: (json: Record<string, unknown>) => Record<string, unknown>) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(change(JSON.parse(fs.readFileSync(file, 'utf8')))));
};

describe('run folder', () => {
  it('reads back what the writer wrote, with the numbers the predictions give', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items, tta: true, root: '/photos/insects' });
    const run = await readRun(dir);
    expect(run).toMatchObject({ dir, classes, backbone: 'mobilenet_v1_025', root: '/photos/insects', tta: true, backboneDir: null });
    expect(run.predictions).toEqual(items);
    expect(run.result.valid.accuracy).toBe(0.5); // one of the two validation photos is right
    expect(run.result.images).toEqual({ train: 1, valid: 2, test: 0 });
    expect(run.metadata.runFormat).toBe(1);
    expect(await readRunResult(dir)).toEqual(run.result);
  });

  it('refuses to write a file the reader would not accept, and leaves no run behind', async () => {
    const dir = path.join(tempDir(), 'run');
    const writer = await openRunWriter(dir);
    await expect(writer.writePredictions({ classes: [], items: [] })).rejects.toThrow();
    await writer.discard();
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readdirSync(path.dirname(dir))).toEqual([]);
  });

  it('says a run from an older Foldwise cannot be opened, naming the file and its version', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items });
    // An older layout: the backbone under another name, and no feature size.
    edit(dir, 'metadata.json', ({ backbone, featureSize: _, ...rest }) => ({ ...rest, backboneId: backbone, appVersion: '0.0.9' }));
    const error = await readRun(dir).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'run/older-format' });
    expect((error as Error).message).toContain(path.join(dir, 'metadata.json'));
    expect((error as Error).message).toContain('Foldwise 0.0.9');
    expect((error as Error).message).toContain('Train the model again');
  });

  it('says a run from a newer Foldwise needs an update', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items });
    edit(dir, 'metadata.json', (m) => ({ ...m, runFormat: 2, labels: 7 }));
    await expect(readRun(dir)).rejects.toMatchObject({ name: 'run/newer-format', message: expect.stringContaining('Update Foldwise') });
  });

  it('catches files that disagree with each other', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items });
    edit(dir, 'metadata.json', (m) => ({ ...m, labels: ['bees', 'ants'] }));
    await expect(readRun(dir)).rejects.toMatchObject({ name: 'run/damaged', message: expect.stringContaining('lists classes bees, ants but config.json says ants, bees') });
  });

  it('says when a fine-tuned run lost its tuned backbone', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items });
    edit(dir, 'metadata.json', (m) => ({ ...m, fineTuned: true }));
    await expect(readRun(dir)).rejects.toMatchObject({ name: 'run/incomplete', message: expect.stringContaining(path.join(dir, 'backbone', 'model.json')) });
  });

  it('has no result for a run that never finished', async () => {
    const dir = await writeTestRun(path.join(tempDir(), 'run'), { classes, items, unfinished: true });
    expect(fs.existsSync(dir)).toBe(false);
    expect(await readRunResult(dir)).toBeNull();
  });
});
