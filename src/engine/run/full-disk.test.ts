// The run writer on disks that say no: full (checked before anything is written, and mid-write),
// read-only, not the user's, names too long. Each ends in one sentence naming the run folder, and
// discard() leaves nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EngineError } from '../../shared/rpc';
import { getBackbone } from '../backbones/catalog';
import { mountSmallDisk, noSmallDisks, type SmallDisk } from '../tmpfs.test-helpers';
import { readRun } from './reader';
import { estimateRunBytes } from './space';
import { writeTestRun } from './test-run.test-helpers';
import { openRunWriter } from './writer';

const spec = getBackbone('mobilenet_v1_025');
const items = Array.from({ length: 60 }, (_, i) => ({
  file: `${i % 2 ? 'ants' : 'bees'}/photo-${i}.jpg`,
  path: `/home/ann/Pictures/insects/${i % 2 ? 'ants' : 'bees'}/photo-${i}.jpg`,
  id: `${i}`.padStart(24, 'c'),
  split: (i < 40 ? 'train' : 'valid') as 'train' | 'valid',
  label: i % 2 ? 'ants' : 'bees',
  probabilities: [0.123456789012345, 0.876543210987654],
}));
const failure = (p: Promise<unknown>) => p.then(() => null, (e: EngineError) => e);
const du = (dir: string): number =>
  fs.readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? du(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size), 0);

describe('the run size estimate', () => {
  it('is at least what a run takes, and not wildly more', async () => {
    await tf.ready();
    const dir = await writeTestRun(path.join(fs.mkdtempSync(path.join(process.env.TMPDIR!, 'run-')), 'r'), { classes: ['ants', 'bees'], items });
    const real = du(dir);
    const estimate = estimateRunBytes({ featureSize: spec.featureSize, classes: 2, hidden: 0, images: items, backboneBytes: 0 });
    expect(estimate).toBeGreaterThanOrEqual(real);
    expect(estimate).toBeLessThan(real + 200_000);
  });
});

describe('run writer errors without a small disk (injected)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('names the run folder when the folder may not be written (EACCES)', async () => {
    const dir = path.join(process.env.TMPDIR!, 'not-mine', 'run1');
    vi.spyOn(fs.promises, 'mkdir').mockRejectedValueOnce(Object.assign(new Error('EACCES: permission denied, mkdir'), { code: 'EACCES', syscall: 'mkdir', path: path.dirname(dir) }));
    const e = await failure(openRunWriter(dir));
    expect(e?.name).toBe('fs/not-allowed');
    expect(e?.message).toBe(`Foldwise is not allowed to write in ${dir}. Change that folder’s permissions or choose another folder.`);
  });

  it('names the run folder when too many files are open (EMFILE) mid-run', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(process.env.TMPDIR!, 'run-')), 'r');
    const writer = await openRunWriter(dir);
    vi.spyOn(fs.promises, 'writeFile').mockRejectedValueOnce(Object.assign(new Error('EMFILE: too many open files, open'), { code: 'EMFILE', syscall: 'open' }));
    const e = await failure(writer.writePredictions({ classes: ['a', 'b'], items: [] }));
    expect(e?.name).toBe('fs/too-many-open-files');
    expect(e?.message).toContain(`while working in ${dir}.`);
    await writer.discard();
    expect(fs.readdirSync(path.dirname(dir))).toEqual([]);
  });

  it('says a name is too long (a real ENAMETOOLONG)', async () => {
    const dir = path.join(process.env.TMPDIR!, 'x'.repeat(300));
    const e = await failure(openRunWriter(dir));
    expect(e?.name).toBe('fs/name-too-long');
    expect(e?.message).toMatch(/is too long for the disk holding .*xxxx\. Choose a folder with a shorter name/);
  });
});

describe.skipIf(noSmallDisks())('run writer on small real disks', () => {
  const disks: SmallDisk[] = [];
  const disk = (opts: Parameters<typeof mountSmallDisk>[0]) => {
    const d = mountSmallDisk(opts);
    disks.push(d);
    return d;
  };
  beforeAll(() => tf.ready());
  afterAll(() => disks.forEach((d) => d.unmount()));

  it('refuses a run that cannot fit before writing anything', async () => {
    const full = disk({ size: '1m' });
    full.fill(20_000);
    const dir = path.join(full.dir, 'runs', 'r1');
    const e = await failure(openRunWriter(dir, { needBytes: 2e6 }));
    expect(e?.name).toBe('fs/no-space');
    expect(e?.message).toMatch(new RegExp(`^The disk holding ${dir} has only \\d+ kB free: Foldwise needs about 2 MB there\\. Free some space or choose another folder\\.$`));
    expect(full.contents()).toEqual([]);
  });

  it('runs out of room mid-write (a disk out of files), names the run folder, and discard leaves nothing', async () => {
    const small = disk({ size: '1m', inodes: 5 }); // the disk's own folder, the run's two folders, one file
    const dir = path.join(small.dir, 'run');
    const writer = await openRunWriter(dir);
    const e = await failure(
      (async () => {
        await writer.writeConfig({ root: '/p', backbone: spec.id, classes: ['a', 'b'], lr: 0.01, lrSource: 'given', epochs: 1, head: { hidden: 0, dropout: 0 }, batchSize: 32, weightDecay: 0, labelSmoothing: 0, augmentedViews: 0, tta: false, bestEpochBy: 'lowest validation loss' });
        await writer.writePredictions({ classes: ['a', 'b'], items });
        await writer.writeHead(tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [spec.featureSize], activation: 'softmax' })] }));
      })(),
    );
    expect(e?.name).toBe('fs/no-space');
    expect(e?.message).toBe(`The disk holding ${dir} is full. Free some space or choose another folder.`);
    await writer.discard();
    expect(small.contents()).toEqual([]);
  });

  it('says a read-only disk is read-only', async () => {
    const ro = disk({ size: '1m', readOnly: true });
    const e = await failure(openRunWriter(path.join(ro.dir, 'run')));
    expect(e?.name).toBe('fs/read-only');
    expect(e?.message).toMatch(new RegExp(`^${ro.dir}/run is on a disk that cannot be written to`));
  });

  it('a run that fits is written and read back as usual', async () => {
    const roomy = disk({ size: '3m' });
    const dir = await writeTestRun(path.join(roomy.dir, 'run'), { classes: ['ants', 'bees'], items });
    expect((await readRun(dir)).classes).toEqual(['ants', 'bees']);
  });
});
if (noSmallDisks()) console.log(`run/full-disk.test.ts: ${noSmallDisks()}`);
