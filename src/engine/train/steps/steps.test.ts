// The training steps on their own, on synthetic features: no photos, no backbone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineEvents, EventName } from '../../../shared/contract';
import { getBackbone } from '../../backbones/catalog';
import { switchBackend } from '../../compute';
import type { FeatureMatrix } from '../../features';
import { openRunWriter, readRun } from '../../run';
import { predictProbabilities } from '../evaluate';
import type { Rows } from '../batches';
import { syntheticSet } from '../synthetic.test-helpers';
import { trainHead } from './head';
import { writeRun } from './write';

function recorder() {
  const events: { name: EventName; payload: unknown }[] = [];
  const ctx = { job: 'steps', signal: new AbortController().signal, emit: <E extends EventName>(name: E, payload: EngineEvents[E]) => void events.push({ name, payload }) };
  return { ctx, events, of: (name: EventName) => events.filter((e) => e.name === name).map((e) => e.payload as Record<string, unknown>) };
}

/** Rows as the features stage gives them: each row with the photo it came from. */
function asMatrix(rows: Rows, split: 'train' | 'valid', classes: string[]): FeatureMatrix {
  const images = Array.from(rows.labels, (label, i) => {
    const file = `${split}/${classes[label]}/${i}.jpg`;
    return { file, path: `/photos/${file}`, label: classes[label]!, split, id: `${split}-${i}`, width: 224, height: 224 };
  });
  return { ...rows, images };
}

describe('the head step', () => {
  it('trains with the given learning rate, reporting every epoch to the caller and as events', async () => {
    await switchBackend('head');
    const set = syntheticSet([60, 60]);
    const { ctx, of } = recorder();
    const seen: number[] = [];
    const step = await trainHead(set, { lr: 0.05, epochs: 4, seed: 1, labelSmoothing: 0, tta: false, onEpoch: (m) => seen.push(m.epoch) }, ctx);
    expect(step.lr).toBe(0.05);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(of('train/epoch')).toHaveLength(4);
    expect(of('job/progress').some((p) => p.stage === 'lr-find')).toBe(false);
    const last = of('job/progress').at(-1)!;
    expect([last.stage, last.done]).toEqual(['train', last.total]);
    expect(step.epochs.find((e) => e.epoch === step.bestEpoch)!.accuracy).toBeGreaterThanOrEqual(0.9);
    step.head.dispose();
  });

  it('shows no time left while fine-tuning is still to come', async () => {
    const run = async (moreAfter: boolean) => {
      const { ctx, of } = recorder();
      const step = await trainHead(syntheticSet([20, 20]), { lr: 0.05, epochs: 2, seed: 1, labelSmoothing: 0, tta: false, moreAfter, onEpoch: () => undefined }, ctx);
      step.head.dispose();
      return of('job/progress').filter((p) => p.stage === 'train');
    };
    expect((await run(true)).every((p) => p.etaSeconds === null)).toBe(true);
    expect((await run(false)).some((p) => 'etaSeconds' in p)).toBe(false); // left to the rpc boundary's estimate
  });

  it('finds the learning rate first when asked for auto', async () => {
    const { ctx, of } = recorder();
    const step = await trainHead(syntheticSet([20, 20]), { lr: 'auto', epochs: 2, seed: 1, labelSmoothing: 0, tta: false, onEpoch: () => undefined }, ctx);
    expect(step.lr).toBeGreaterThan(1e-6);
    expect(of('job/progress').filter((p) => p.stage === 'lr-find').length).toBeGreaterThan(0);
    step.head.dispose();
  });
});

describe('the write step', () => {
  it('writes a run the reader opens, with the probabilities the head gives and the scores they make', async () => {
    await switchBackend('head');
    const spec = getBackbone('mobilenet_v1_025');
    const set = syntheticSet([12, 12], spec.featureSize);
    const { ctx } = recorder();
    const trained = await trainHead(set, { lr: 0.01, epochs: 2, seed: 1, labelSmoothing: 0, tta: false, onEpoch: () => undefined }, ctx);
    const features = { train: asMatrix(set.train, 'train', set.classes), valid: asMatrix(set.valid, 'valid', set.classes), validFlip: null, test: asMatrix({ dim: set.dim, data: new Float32Array(0), labels: new Int32Array(0) }, 'valid', set.classes), testFlip: null };
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-steps-')), 'run');
    const writer = await openRunWriter(dir);
    const config = { root: '/photos', backbone: spec.id, classes: set.classes, lr: 0.01, lrSource: 'given', epochs: 2, seed: 1, fineTune: 'off' as const, head: { hidden: 0, dropout: 0 }, batchSize: 32, weightDecay: 0, labelSmoothing: 0, augmentedViews: 0, tta: false, bestEpochBy: 'lowest validation loss' };
    const scores = await writeRun(writer, { config, spec, head: trained.head, tuned: null, fineTune: null, features, bestEpoch: trained.bestEpoch });
    expect(fs.existsSync(dir)).toBe(false); // nothing is in place before the result is written
    await writer.finish({ runId: 'r', runDir: dir, backend: 'test', backbone: spec.id, classes: set.classes, lr: 0.01, ...scores, epochs: trained.epochs, bestEpoch: trained.bestEpoch, warnings: [], fineTune: null, seconds: { scan: 0, features: 0, train: 0, fineTune: 0, total: 0 } });

    const run = await readRun(dir);
    const expected = await predictProbabilities(trained.head, features.valid, null);
    const valid = run.predictions.filter((p) => p.split === 'valid');
    expect(valid.flatMap((p) => p.probabilities)).toEqual(Array.from(expected).map((v) => expect.closeTo(v, 6)));
    const right = valid.filter((p) => p.probabilities.indexOf(Math.max(...p.probabilities)) === set.classes.indexOf(p.label)).length;
    expect(run.result.valid.accuracy).toBe(right / valid.length);
    expect(run.result.test).toBeNull();
    expect(run.result.images).toEqual({ train: 24, valid: 8, test: 0 });
    expect(run.metadata).toMatchObject({ fineTuned: false, tta: false, head: { inputDim: spec.featureSize, classes: 2 } });
    trained.head.dispose();
  });
});
