// End to end on a tiny folder of 32x32 photos with the tiny mobilenet_v1_025 backbone from
// ../shared/weights: the run folder, events, cancel, pause and fine-tuning.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../shared/rpc';
import { TrainConfig } from '../../shared/schemas';
import type { EngineEvents, EventName } from '../../shared/contract';
import { loadLayersModelFromDir } from '../export/tfjs-io';
import { createPredictor } from '../export/predictor';
import { predictFiles } from '../export/predict';
import { estimateFineTune } from './fine-tune-estimate';
import { bestEpochOf } from './fit';
import { trainHandlers } from './handlers';
import { makePhotos } from './photos.test-helpers';
import { trainFolder } from './run';
import * as tf from '@tensorflow/tfjs';

let tmp: string;
let root: string;
const backbone = 'mobilenet_v1_025';

function recorder(job = 'test-job') {
  const events: { name: EventName; payload: unknown }[] = [];
  const controller = new AbortController();
  const ctx: CallContext = { job, signal: controller.signal, emit: <E extends EventName>(name: E, payload: EngineEvents[E]) => void events.push({ name, payload }) };
  return { events, controller, ctx, count: (name: EventName) => events.filter((e) => e.name === name).length };
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-train-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  root = path.join(tmp, 'photos');
  await makePhotos(root, 8);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('trainFolder', () => {
  it('trains a folder end to end and writes the run folder other stages read', async () => {
    const out = path.join(tmp, 'runs', 'first');
    const { ctx, events, count } = recorder();
    const result = await trainFolder(TrainConfig.parse({ root, out, backbone, epochs: 3, fineTune: 'off', validFraction: 0.25 }), ctx);
    expect(result.classes).toEqual(['blue', 'red']);
    expect(result.epochs).toHaveLength(3);
    expect(result.images.train + result.images.valid).toBe(16);
    expect(result.valid.accuracy).toBeGreaterThanOrEqual(0.75);
    expect(result.lr).toBeGreaterThan(1e-6);
    expect(result.test).toBeNull();
    expect(result.runDir).toBe(out);

    // Layout from docs/ENGINE.md, and nothing half-written left beside it.
    for (const file of ['config.json', 'metrics.jsonl', 'head/model.json', 'head/weights.bin', 'predictions.json', 'metadata.json', 'result.json']) {
      expect(fs.existsSync(path.join(out, file)), file).toBe(true);
    }
    expect(fs.readdirSync(path.dirname(out))).toEqual(['first']);
    expect(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8'))).toEqual(result);
    const metadata = JSON.parse(fs.readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    expect(metadata).toMatchObject({ labels: ['blue', 'red'], backbone, inputSize: 224 });

    // predictions.json: every photo once, probabilities that sum to 1, and the saved head reproduces them.
    const predictions = JSON.parse(fs.readFileSync(path.join(out, 'predictions.json'), 'utf8')) as { items: { path: string; split: string; label: string; probabilities: number[] }[] };
    expect(predictions.items).toHaveLength(16);
    for (const item of predictions.items) expect(item.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    const valid = predictions.items.filter((i) => i.split === 'valid');
    const predictor = await createPredictor(out); // the saved head on freshly computed features, with TTA as recorded
    const again = await predictFiles(predictor, valid.map((i) => i.path));
    predictor.dispose();
    again.forEach((p, i) => expect(Object.values(p.probabilities!)).toEqual(valid[i]!.probabilities.map((v) => expect.closeTo(v, 4))));
    // ...and the accuracy the result reports is the one those probabilities give.
    const right = valid.filter((i) => i.probabilities.indexOf(Math.max(...i.probabilities)) === ['blue', 'red'].indexOf(i.label)).length;
    expect(result.valid.accuracy).toBeCloseTo(right / valid.length, 10);

    expect(count('train/epoch')).toBe(3);
    expect(count('train/batch')).toBeGreaterThanOrEqual(3);
    const stages = new Set(events.filter((e) => e.name === 'job/progress').map((e) => (e.payload as { stage: string }).stage));
    expect([...stages]).toEqual(expect.arrayContaining(['scan', 'features', 'lr-find', 'train', 'save']));
    // Saving the run reports its parts to the end.
    const saved = events.filter((e) => e.name === 'job/progress' && (e.payload as { stage: string }).stage === 'save').map((e) => e.payload as { done: number; total: number });
    expect(saved.at(-1)).toMatchObject({ done: saved.at(-1)!.total });
  });

  it('a cancelled run leaves the earlier run at the same place intact', async () => {
    const out = path.join(tmp, 'runs', 'first');
    const before = fs.readFileSync(path.join(out, 'result.json'), 'utf8');
    const { ctx, controller } = recorder();
    const emit = ctx.emit;
    ctx.emit = (name, payload) => {
      emit(name, payload);
      if (name === 'train/batch') controller.abort();
    };
    await expect(trainFolder(TrainConfig.parse({ root, out, backbone, epochs: 50, lr: 0.01, validFraction: 0.25 }), ctx)).rejects.toThrow();
    expect(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).toBe(before);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['first']);
  });

  it('pauses between batches on train/pause and finishes after resuming', async () => {
    const handlers = trainHandlers();
    const { ctx, count } = recorder('pause-job');
    let paused = false;
    const emit = ctx.emit;
    ctx.emit = (name, payload) => {
      emit(name, payload);
      if (name === 'train/batch' && !paused) {
        paused = true;
        void handlers['train/pause']({ job: 'pause-job', paused: true }, ctx);
      }
    };
    const run = handlers['train/run'](TrainConfig.parse({ root, out: path.join(tmp, 'runs', 'paused'), backbone, epochs: 3, lr: 0.01, fineTune: 'off', validFraction: 0.25 }), ctx);
    while (!paused) await new Promise((r) => setTimeout(r, 20));
    const batches = count('train/batch');
    await new Promise((r) => setTimeout(r, 400));
    expect(count('train/batch')).toBe(batches);
    expect(await handlers['train/pause']({ job: 'pause-job', paused: false }, ctx)).toEqual({ paused: false });
    const result = await run;
    expect(result.epochs).toHaveLength(3);
  });
});

describe('fine-tuning', () => {
  it('estimates the time on this backend first, in seconds, and leaves the backend as it was', async () => {
    const { ctx } = recorder();
    const backendBefore = tf.getBackend();
    const started = performance.now();
    const estimate = await trainHandlers()['train/estimate-fine-tune'](TrainConfig.parse({ root, backbone, fineTune: true, validFraction: 0.25 }), ctx);
    expect((performance.now() - started) / 1000).toBeLessThan(15);
    expect(['wasm', 'tensorflow']).toContain(estimate.backend); // convolutions run on wasm where tfjs-node is missing
    expect(estimate.seconds).toBeGreaterThan(0);
    expect(estimate.low!).toBeLessThanOrEqual(estimate.seconds);
    expect(estimate.high!).toBeGreaterThanOrEqual(estimate.seconds);
    expect(estimate.message).toMatch(/^Fine-tuning would take about \d+(\.\d)? (seconds|minutes|hours) on this machine .*2 passes over 1[0-6] photos/);
    expect(estimate.method).toMatch(/at 64x64 \(\d+\.\d\d s\) and 96x96/);
    expect(tf.getBackend()).toBe(backendBefore);
  });

  it('stops estimating within a second of a cancel', async () => {
    const { ctx, controller } = recorder();
    let abortedAt = 0;
    let timedAfterAbort = 0;
    const estimate = estimateFineTune(TrainConfig.parse({ root, backbone, fineTune: true, validFraction: 0.25 }), ctx, {
      onTimed: () => {
        if (abortedAt) timedAfterAbort++;
        else {
          controller.abort();
          abortedAt = performance.now();
        }
      },
    });
    await expect(estimate).rejects.toThrow(/abort/i);
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(timedAfterAbort).toBe(0);
  });

  it('a run cancelled while fine-tuning stops at once and leaves the earlier run intact', async () => {
    const out = path.join(tmp, 'runs', 'first');
    const before = fs.readFileSync(path.join(out, 'result.json'), 'utf8');
    const runsBefore = fs.readdirSync(path.dirname(out)).sort();
    const { ctx, controller } = recorder();
    const emit = ctx.emit;
    let abortedAt = 0;
    ctx.emit = (name, payload) => {
      emit(name, payload);
      if (name === 'train/batch' && (payload as { stage?: string }).stage === 'fine-tune' && !abortedAt) {
        controller.abort();
        abortedAt = performance.now();
      }
    };
    await expect(trainFolder(TrainConfig.parse({ root, out, backbone, epochs: 2, lr: 0.01, fineTune: true, validFraction: 0.25 }), ctx, { fineTuneInputSize: 32 })).rejects.toThrow(/abort/i);
    expect(abortedAt).toBeGreaterThan(0);
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(fs.readFileSync(path.join(out, 'result.json'), 'utf8')).toBe(before);
    expect(fs.readdirSync(path.dirname(out)).sort()).toEqual(runsBefore);
  });

  it("refuses to fine-tune the top of two backbones side by side before any work, saying what to pick", async () => {
    const out = path.join(tmp, 'runs', 'pair-top');
    const { ctx, count } = recorder();
    const asked = trainFolder(TrainConfig.parse({ root, out, backbone: 'mobilenet_pair', fineTune: 'top' }), ctx);
    await expect(asked).rejects.toMatchObject({ name: 'train/no-top', message: expect.stringMatching(/single starting model.*MobileNet V2 \(0\.35\)/) });
    expect(count('job/progress')).toBe(0); // not even the scan started
    expect(fs.existsSync(out)).toBe(false);
  });

  it('unfreezes the backbone, reports fine-tune epochs, and saves the backbone when it helped', async () => {
    const out = path.join(tmp, 'runs', 'tuned');
    const { ctx } = recorder();
    // 32x32 inputs (same weights) keep gradients through the convolutions to seconds on the cpu backend.
    const result = await trainFolder(TrainConfig.parse({ root, out, backbone, epochs: 2, lr: 0.01, fineTune: true, validFraction: 0.25 }), ctx, { fineTuneInputSize: 32 });
    const stages = result.epochs.map((e) => e.stage);
    expect(stages).toEqual(['head', 'head', 'fine-tune', 'fine-tune']);
    const metadata = JSON.parse(fs.readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    // Kept exactly when the best fine-tune epoch beat the head epoch that head training kept.
    const head = result.epochs.filter((e) => e.stage === 'head');
    const tuned = result.epochs.filter((e) => e.stage === 'fine-tune');
    const headLoss = head.find((e) => e.epoch === bestEpochOf(head))!.validLoss;
    expect(metadata.fineTuned).toBe(Math.min(...tuned.map((e) => e.validLoss)) < headLoss);
    if (metadata.fineTuned) {
      expect(result.bestEpoch).toBe(tuned.reduce((a, b) => (b.validLoss <= a.validLoss ? b : a)).epoch);
      const saved = await loadLayersModelFromDir(path.join(out, 'backbone'));
      expect(saved.outputs[0]!.shape).toEqual([null, 256]);
      const features = tf.tidy(() => (saved.predict(tf.zeros([1, 224, 224, 3])) as tf.Tensor).dataSync());
      expect(features).toHaveLength(256);
      saved.dispose();
    } else {
      expect(result.bestEpoch).toBe(bestEpochOf(head));
      expect(result.warnings.join(' ')).toMatch(/Fine-tuning did not lower the validation loss/);
      expect(fs.existsSync(path.join(out, 'backbone'))).toBe(false);
    }
  });
});
