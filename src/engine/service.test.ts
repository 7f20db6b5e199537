// The service's calls that compute take turns: a heatmap asked for in the middle of a training waits
// for it, and the training comes out exactly as it does alone (tiny photos, the tiny real backbone).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvents, EventName } from '../shared/contract';
import type { CallContext } from '../shared/rpc';
import { TrainConfig } from '../shared/schemas';
import type { TrainResult } from '../shared/types';
import { sharedDir } from './paths';
import { createService } from './service';
import { makePhotos } from './train/photos.test-helpers';

const backbone = 'mobilenet_v1_025';
const haveWeights = fs.existsSync(path.join(sharedDir(), 'weights', 'mobilenet_v1_025_224', 'model.json'));

let tmp: string;
let root: string;

/** A call context that hands every event to `onEvent`. */
function context(job: string, onEvent: (name: EventName) => void = () => undefined): CallContext {
  return { job, signal: new AbortController().signal, emit: <E extends EventName>(name: E, _payload: EngineEvents[E]) => onEvent(name) };
}

/** What a person compares between two trainings: the chosen learning rate, every epoch's numbers (not its time), the scores. */
const outcome = (r: TrainResult) => ({ lr: r.lr, epochs: r.epochs.map(({ seconds: _, ...e }) => e), bestEpoch: r.bestEpoch, valid: r.valid, classes: r.classes });

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-service-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  root = path.join(tmp, 'photos');
  await makePhotos(root, 8);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!haveWeights)('one job at a time', () => {
  it('a heatmap asked for during training waits for it and leaves its results unchanged', async () => {
    const service = createService();
    const config = (out: string) => TrainConfig.parse({ root, out: path.join(tmp, 'runs', out), backbone, epochs: 3, validFraction: 0.25 });
    // Alone (this also fills the feature cache, so both trainings below read the same features).
    const alone = await service['train/run']!(config('alone'), context('alone'));
    const again = await service['train/run']!(config('again'), context('again'));
    expect(outcome(again)).toEqual(outcome(alone));

    const photo = path.join(root, 'red', 'red_0.png');
    const heatmapArgs = { runDir: alone.runDir, file: photo };
    // Loads the run's models, so the heatmap below would take well under a second if it did not wait.
    const before = await service['review/heatmap']!(heatmapArgs, context('warm-up'));

    // Pause the training after its first batch: it holds the engine, half done.
    let paused = false;
    const finished: string[] = [];
    const training = service['train/run']!(
      config('with-heatmap'),
      context('with-heatmap', (name) => {
        if (name !== 'train/batch' || paused) return;
        paused = true;
        void service['train/pause']!({ job: 'with-heatmap', paused: true }, context('pause'));
      }),
    ).then((r) => (finished.push('training'), r));
    while (!paused) await new Promise((r) => setTimeout(r, 20));
    const heatmap = service['review/heatmap']!(heatmapArgs, context('heatmap')).then((h) => (finished.push('heatmap'), h));
    await new Promise((r) => setTimeout(r, 1500));
    expect(finished).toEqual([]); // the heatmap waits its turn instead of running beside the training

    await service['train/pause']!({ job: 'with-heatmap', paused: false }, context('resume'));
    const withHeatmap = await training;
    const during = await heatmap;
    expect(finished).toEqual(['training', 'heatmap']);
    expect(outcome(withHeatmap)).toEqual(outcome(alone));
    expect(during).toEqual(before);
  }, 240_000);
});
