// The engine from photos to exported files, through the real run folder (no fixture): train on real
// photos, fine-tune the backbone, export TF.js and ONNX from that folder, predict with both exports
// and check they give the run's own recorded predictions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmax } from '../shared/argmax';
import type { CallContext } from '../shared/rpc';
import { TrainConfig } from '../shared/schemas';
import { exportModel } from './export/export';
import { predictFiles } from './export/predict';
import { createPredictor } from './export/predictor';
import { sharedDir } from './paths';
import { readRun, type SavedPrediction } from './run';
import { trainFolder } from './train/run';

let tmp: string;
let root: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-e2e-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  root = path.join(tmp, 'photos');
  // Twelve real photos of each class: enough for a validation split, small enough for the CPU.
  for (const label of ['ants', 'bees']) {
    const from = path.join(sharedDir(), 'datasets', 'hymenoptera', 'train', label);
    fs.mkdirSync(path.join(root, label), { recursive: true });
    for (const file of fs.readdirSync(from).filter((f) => f.endsWith('.jpg')).sort().slice(0, 12)) fs.copyFileSync(path.join(from, file), path.join(root, label, file));
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const quiet: CallContext = { job: 'e2e', signal: new AbortController().signal, emit: () => undefined };

describe('photos to exports, through the run folder', () => {
  it('trains and fine-tunes on real photos, and both exports predict what the run recorded', async () => {
    const out = path.join(tmp, 'run');
    // Tuned at 32x32 (same weights) so gradients through the trunk take seconds; kept whatever it scored,
    // because what is checked here is the fine-tuned run folder, not whether tuning helped.
    const result = await trainFolder(TrainConfig.parse({ root, out, backbone: 'mobilenet_v1_025', epochs: 3, fineTune: 'whole', validFraction: 0.25, seed: 3 }), quiet, {
      fineTuneInputSize: 32,
      keepFineTuned: true,
    });
    expect(result.epochs.map((e) => e.stage)).toEqual(['head', 'head', 'head', 'fine-tune', 'fine-tune']);
    const run = await readRun(out);
    expect(run.metadata.fineTuned).toBe(true);
    expect(run.backboneDir).not.toBeNull();
    const valid = run.predictions.filter((p) => p.split === 'valid');
    expect(valid.length).toBeGreaterThanOrEqual(4);

    await exportsPredictTheRun(out, run.classes, valid);
    expect(fs.readFileSync(path.join(tmp, 'export-onnx', 'MODEL_CARD.md'), 'utf8')).toMatch(/every layer fine-tuned/);
  });

  it('trains and fine-tunes the top of the backbone from cached activations, and both exports predict what the run recorded', async () => {
    const out = path.join(tmp, 'run-top');
    const result = await trainFolder(TrainConfig.parse({ root, out, backbone: 'mobilenet_v1_025', epochs: 3, fineTune: 'top', validFraction: 0.25, seed: 3 }), quiet, {
      keepFineTuned: true,
      topRecipe: { epochs: 2 },
    });
    expect(result.epochs.map((e) => e.stage)).toEqual(['head', 'head', 'head', 'fine-tune', 'fine-tune']);
    expect(result.fineTune).toMatchObject({ layers: 'top', cut: 'conv_pw_12_relu', epochs: 2, kept: true });
    expect(result.seconds.fineTune).toBeGreaterThan(0);
    const run = await readRun(out);
    expect(run.metadata).toMatchObject({ fineTuned: true, fineTune: { layers: 'top', cut: 'conv_pw_12_relu' } });
    expect(run.backboneDir).not.toBeNull();
    const valid = run.predictions.filter((p) => p.split === 'valid');
    await exportsPredictTheRun(out, run.classes, valid);
    // The model card says which layers training changed.
    expect(fs.readFileSync(path.join(tmp, 'export-onnx', 'MODEL_CARD.md'), 'utf8')).toMatch(/top layers, those above conv_pw_12_relu, fine-tuned/);
  });

  it('trains on both MobileNets side by side (the default), fine-tunes the whole pair, and both exports predict what the run recorded', async () => {
    const out = path.join(tmp, 'run-pair');
    const config = TrainConfig.parse({ root, out, epochs: 3, fineTune: 'whole', validFraction: 0.25, seed: 3 });
    expect(config.backbone).toBe('mobilenet_pair');
    const result = await trainFolder(config, quiet, { fineTuneInputSize: 32, keepFineTuned: true });
    expect(result.backbone).toBe('mobilenet_pair');
    const run = await readRun(out);
    expect(run.metadata.fineTuned).toBe(true);
    const valid = run.predictions.filter((p) => p.split === 'valid');
    await exportsPredictTheRun(out, run.classes, valid);
  });
});

/** Exports the run at `out` in both formats and checks each predicts the validation photos as the run recorded. */
async function exportsPredictTheRun(out: string, classes: string[], valid: SavedPrediction[]): Promise<void> {
  for (const format of ['tfjs', 'onnx'] as const) {
      const exported = path.join(tmp, `export-${format}`);
      const report = await exportModel(out, { format, out: exported });
      expect(report.verified.agreement).toBe(1);
      const predictor = await createPredictor(exported);
      expect(predictor.kind).toBe(format);
      const predictions = await predictFiles(predictor, valid.map((p) => p.path!));
      predictor.dispose();
      predictions.forEach((p, i) => {
        const recorded = valid[i]!.probabilities;
        const got = classes.map((c) => p.probabilities![c]!);
        expect(p.label, `${format}: ${p.file}`).toBe(classes[argmax(recorded)]);
        expect(Math.max(...got.map((v, k) => Math.abs(v - recorded[k]!))), `${format}: ${p.file}`).toBeLessThan(1e-4);
      });
    }
}
