// Builds a small but real training run for export tests without the trainer: real hymenoptera
// photos, real backbone features from the app's extractor, and a softmax head fitted here in a
// few seconds, written through the run writer.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { getBackbone } from '../backbones/catalog';
import { decodeForModel } from '../dataset/decode';
import { contentId } from '../dataset/hash';
import { flipHorizontal } from '../features/augment';
import { createExtractor } from '../features/extractor';
import { packageRoot, sharedDir } from '../paths';
import { writeTestRun } from '../run/test-run.test-helpers';

export const HYMENOPTERA = () => path.join(sharedDir(), 'datasets', 'hymenoptera');

function photos(split: 'train' | 'val', label: string, count: number): string[] {
  const dir = path.join(HYMENOPTERA(), split, label);
  return fs
    .readdirSync(dir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()
    .slice(0, count)
    .map((f) => path.join(dir, f));
}

export interface RunFixture {
  runDir: string;
  classes: string[];
  validFiles: string[];
}

export async function makeRunFixture(dir: string, opts: { backbone?: string; trainPerClass?: number; validPerClass?: number; tta?: boolean } = {}): Promise<RunFixture> {
  const backbone = opts.backbone ?? 'mobilenet_v2_035';
  const spec = getBackbone(backbone);
  const classes = ['ants', 'bees'];
  const items = [
    ...classes.flatMap((label) => photos('train', label, opts.trainPerClass ?? 12).map((file) => ({ file, label, split: 'train' as const }))),
    ...classes.flatMap((label) => photos('val', label, opts.validPerClass ?? 10).map((file) => ({ file, label, split: 'valid' as const }))),
  ];
  const size = spec.inputSize;
  const pixels = new Uint8Array(items.length * size * size * 3);
  const decoded = await Promise.all(items.map((item) => decodeForModel(item.file, spec.recipe)));
  decoded.forEach((p, i) => pixels.set(p, i * size * size * 3));

  const extractor = await createExtractor(backbone, { workers: 0 });
  const features = await extractor.embed(pixels, items.length);
  // Test-time augmentation as training does it: features of the mirrored centre crop.
  const one = size * size * 3;
  const mirrored = new Uint8Array(pixels.length);
  for (let i = 0; i < items.length; i++) mirrored.set(flipHorizontal(pixels.subarray(i * one, (i + 1) * one), size), i * one);
  const flippedFeatures = opts.tta ? await extractor.embed(mirrored, items.length) : null;
  extractor.dispose();

  const labels = items.map((item) => classes.indexOf(item.label));
  const train = items.map((item, i) => (item.split === 'train' ? i : -1)).filter((i) => i >= 0);
  const dim = spec.featureSize;
  const head = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [dim], units: classes.length, activation: 'softmax', name: 'classes', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) })],
  });
  head.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.tensor2d(Float32Array.from(train.flatMap((i) => Array.from(features.subarray(i * dim, (i + 1) * dim)))), [train.length, dim]);
  const y = tf.tensor1d(train.map((i) => labels[i]!), 'float32');
  await head.fit(x, y, { epochs: 30, batchSize: train.length, verbose: 0, shuffle: false });
  x.dispose();
  y.dispose();
  const predict = (f: Float32Array) => tf.tidy(() => (head.predict(tf.tensor2d(f, [items.length, dim])) as tf.Tensor).arraySync() as number[][]);
  const centre = predict(features);
  const flipped = flippedFeatures ? predict(flippedFeatures) : null;
  // Valid photos are scored with TTA when it is on; train photos on the centre crop (as training does).
  const probs = centre.map((row, i) => (flipped && items[i]!.split === 'valid' ? row.map((p, c) => (p + flipped[i]![c]!) / 2) : row));

  const root = HYMENOPTERA();
  const runDir = await writeTestRun(path.join(dir, 'run'), {
    classes,
    backbone,
    root,
    tta: opts.tta === true,
    head,
    items: items.map((item, i) => ({
      file: path.relative(root, item.file).split(path.sep).join('/'),
      path: item.file,
      id: contentId(fs.readFileSync(item.file)),
      split: item.split,
      label: item.label,
      probabilities: probs[i]!,
    })),
  });
  head.dispose();
  return { runDir, classes, validFiles: items.filter((item) => item.split === 'valid').map((item) => item.file) };
}

/** Runs an export's Node snippet (predict.cjs) from outside the project, with the project's packages; its stdout. */
export async function runNodeSnippet(out: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(out, 'predict.cjs'), ...args], {
    cwd: os.tmpdir(),
    env: { ...process.env, NODE_PATH: path.join(packageRoot(), 'node_modules') },
  });
  return stdout;
}
