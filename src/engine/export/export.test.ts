import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeForModel } from '../dataset/decode';
import { exportModel } from './export';
import { onnxFormat } from './formats/onnx';
import { tfjsFormat } from './formats/tfjs';
import { coremlFormat } from './formats/coreml';
import { coremlValidator } from './coreml/validate';
import { decodeSpec, encodeSpec } from './coreml/proto';
import type { ModelFormat } from './formats';
import { createPredictor } from './predictor';
import { makeRunFixture, runNodeSnippet, type RunFixture } from './run-fixture.test-helpers';
import { dirLoader } from './tfjs-io';

let tmp: string;
let fixture: RunFixture;
const cacheBefore = process.env.FOLDWISE_CACHE;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-export-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  fixture = await makeRunFixture(tmp, { trainPerClass: 8, validPerClass: 5 });
});

afterAll(() => {
  process.env.FOLDWISE_CACHE = cacheBefore;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The app's own probabilities for the fixture's validation photos. */
async function appProbabilities(files: string[]): Promise<{ probs: Float32Array; labels: string[] }> {
  const app = await createPredictor(fixture.runDir);
  const size = app.recipe.size;
  const pixels = new Uint8Array(files.length * size * size * 3);
  for (const [i, f] of files.entries()) pixels.set(await decodeForModel(f, app.recipe), i * size * size * 3);
  const probs = await app.predict(pixels, files.length);
  app.dispose();
  return { probs, labels: app.labels };
}

describe('exportModel', () => {
  it('writes a TF.js model that stock tfjs reloads and that agrees with the app', async () => {
    const out = path.join(tmp, 'exports', 'tfjs');
    const result = await exportModel(fixture.runDir, { format: 'tfjs', out });
    expect(result.format).toBe('tfjs');
    expect(result.verified.images).toBe(10);
    expect(result.verified.agreement).toBe(1);
    expect(result.verified.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    // Reloaded by stock tfjs (wasm) here and, with more than one core, in worker threads that join once
    // booted (on 10 photos they may not have); tfjs-pool.test.ts checks the workers' answers.
    expect(result.runtime.exported).toMatch(os.availableParallelism() > 1 ? /^tfjs-wasm in this thread( \+ \d+ worker threads?)?$/ : /^tfjs-wasm$/);
    for (const f of ['model.json', 'weights.bin', 'metadata.json', 'MODEL_CARD.md', 'MODEL_CARD.html', 'confusion-matrix.svg', 'demo.html', 'tf.min.js', 'predict.cjs']) {
      expect(result.files).toContain(f);
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    }
    // No temp folder left beside the export.
    expect(fs.readdirSync(path.dirname(out)).filter((f) => f.startsWith('.'))).toEqual([]);

    // Independently of the exporter: stock tf.loadGraphModel on the written files, one photo at a time.
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    expect(meta.labels).toEqual(fixture.classes);
    expect(meta.input).toMatchObject({ shape: [null, 224, 224, 3], range: [0, 255], name: 'pixels' });
    const model = await tf.loadGraphModel(dirLoader(out));
    const files = fixture.validFiles.slice(0, 4);
    const app = await appProbabilities(files);
    for (const [i, f] of files.entries()) {
      const px = await decodeForModel(f, meta.recipe);
      const probs = tf.tidy(() => (model.predict(tf.tensor4d(Float32Array.from(px), [1, 224, 224, 3])) as tf.Tensor).dataSync());
      for (let c = 0; c < 2; c++) expect(Math.abs(probs[c]! - app.probs[i * 2 + c]!)).toBeLessThan(1e-4);
    }
    model.dispose();
    await expectSnippetPrintsAppAnswer(path.join(out, 'predict.cjs'), files.slice(0, 1));
    const stdout = await runNodeSnippet(out, ['--check']);
    expect(stdout).toMatch(/^OK: same top class on 3 of 3 photos; probabilities differ by at most \S+ \(allowed 0\.001\)/m);
  });

  it('writes an ONNX model that onnxruntime runs, and its Node snippet prints the app’s answer', async () => {
    const out = path.join(tmp, 'exports', 'onnx');
    const result = await exportModel(fixture.runDir, { format: 'onnx', out });
    expect(result.verified).toMatchObject({ images: 10, agreement: 1 });
    expect(result.verified.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(result.files).toEqual(expect.arrayContaining(['model.onnx', 'metadata.json', 'MODEL_CARD.md', 'MODEL_CARD.html', 'predict.cjs', 'predict.py']));

    expect(result.runtime.app).toBe('predictions recorded at training');
    const files = fixture.validFiles.slice(0, 2);
    await expectSnippetPrintsAppAnswer(path.join(out, 'predict.cjs'), files);
    await expectSamplesAndCheckMode(out, result.files);

    // Photos changed since training (content ids differ): the app's answers are computed again instead.
    const changed = path.join(tmp, 'changed-run');
    fs.cpSync(fixture.runDir, changed, { recursive: true });
    const predictions = JSON.parse(fs.readFileSync(path.join(changed, 'predictions.json'), 'utf8'));
    for (const item of predictions.items) item.id = 'changed';
    fs.writeFileSync(path.join(changed, 'predictions.json'), JSON.stringify(predictions));
    const again = await exportModel(changed, { format: 'onnx', out: path.join(tmp, 'exports', 'onnx-changed') });
    expect(again.verified).toMatchObject({ images: 10, agreement: 1 });
    expect(again.runtime.app).toMatch(/onnxruntime|tfjs/);
  });

  it('leaves nothing behind when verification fails, and keeps an earlier export', async () => {
    const out = path.join(tmp, 'exports', 'onnx');
    if (!fs.existsSync(out)) await exportModel(fixture.runDir, { format: 'onnx', out });
    const before = fs.readFileSync(path.join(out, 'model.onnx'));
    // A format whose reloaded model is off by 1e-3: the kind of drift a wrong preprocessing step gives.
    const drifting: ModelFormat = {
      ...onnxFormat,
      async load(dir) {
        const runner = await onnxFormat.load(dir);
        return { ...runner, run: async (px, n) => (await runner.run(px, n)).map((p, i) => (i % 2 ? p - 1e-3 : p + 1e-3)) };
      },
    };
    await expect(exportModel(fixture.runDir, { format: 'onnx', out, formatModule: drifting })).rejects.toMatchObject({ name: 'export/verify-failed' });
    expect(fs.readFileSync(path.join(out, 'model.onnx')).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(out)).filter((f) => f.startsWith('.'))).toEqual([]);

    const fresh = path.join(tmp, 'exports', 'never');
    await expect(exportModel(fixture.runDir, { format: 'onnx', out: fresh, formatModule: drifting })).rejects.toThrow(/does not predict what the app predicts/);
    expect(fs.existsSync(fresh)).toBe(false);
    // A format that rounds on purpose says what to export instead.
    const advised: ModelFormat = { ...drifting, tolerance: { agreement: 1, maxAbsDiff: 1e-4, advice: 'Export "TFLite" instead.' } };
    await expect(exportModel(fixture.runDir, { format: 'onnx', out: fresh, formatModule: advised })).rejects.toThrow(/Nothing was written\. Export "TFLite" instead\.$/);

    // The same for TF.js, whose verification runs in worker threads: drift there is caught too.
    const driftingTfjs: ModelFormat = {
      ...tfjsFormat,
      prepareLoad(options) {
        const inner = tfjsFormat.prepareLoad!(options);
        return {
          ...inner,
          async load(dir) {
            const runner = await inner.load(dir);
            return { ...runner, run: async (px, n) => (await runner.run(px, n)).map((p, i) => (i % 2 ? p - 1e-3 : p + 1e-3)) };
          },
        };
      },
    };
    await expect(exportModel(fixture.runDir, { format: 'tfjs', out: fresh, formatModule: driftingTfjs })).rejects.toMatchObject({ name: 'export/verify-failed' });
    expect(fs.existsSync(fresh)).toBe(false);

    // Cancelled while verifying: nothing written either.
    const controller = new AbortController();
    const cancelled = exportModel(fixture.runDir, { format: 'onnx', out: fresh, signal: controller.signal, onProgress: (p) => p.stage === 'verify' && controller.abort() });
    await expect(cancelled).rejects.toThrow();
    expect(fs.existsSync(fresh)).toBe(false);
    expect(fs.readdirSync(path.dirname(out)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('exports the app\'s test-time augmentation (photo + mirror) inside the model when the run uses it', async () => {
    const ttaRun = await makeRunFixture(path.join(tmp, 'tta'), { trainPerClass: 6, validPerClass: 3, tta: true });
    // The run predictor reproduces what training recorded in predictions.json (which used TTA).
    const recorded = JSON.parse(fs.readFileSync(path.join(ttaRun.runDir, 'predictions.json'), 'utf8')).items.filter((i: { split: string }) => i.split === 'valid');
    const app = await createPredictor(ttaRun.runDir);
    const pixels = new Uint8Array(recorded.length * 224 * 224 * 3);
    for (const [i, item] of recorded.entries()) pixels.set(await decodeForModel(item.path, app.recipe), i * 224 * 224 * 3);
    const probs = await app.predict(pixels, recorded.length);
    app.dispose();
    recorded.forEach((item: { probabilities: number[] }, i: number) => item.probabilities.forEach((p, c) => expect(Math.abs(probs[i * 2 + c]! - p)).toBeLessThan(1e-4)));

    for (const format of ['onnx', 'tfjs'] as const) {
      const out = path.join(tmp, 'tta', format);
      const result = await exportModel(ttaRun.runDir, { format, out });
      expect(result.verified).toMatchObject({ images: 6, agreement: 1 });
      expect(result.verified.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    }
    const written = JSON.parse(fs.readFileSync(path.join(tmp, 'tta', 'tfjs', 'model.json'), 'utf8')) as { modelTopology: { node: { op: string }[] } };
    expect(written.modelTopology.node.map((n) => n.op)).toEqual(expect.arrayContaining(['ReverseV2', 'ConcatV2', 'Mean']));
  });

  it('the TFLite export carries the samples, and its Node snippet (LiteRT.js) checks itself against them', async () => {
    const out = path.join(tmp, 'exports', 'tflite');
    const result = await exportModel(fixture.runDir, { format: 'tflite', out, maxImages: 4 });
    expect(result.files).toEqual(expect.arrayContaining(['model.tflite', 'predict.cjs', 'predict.py', 'FoldwiseClassifier.kt', 'samples/expected.json']));
    const stdout = await runNodeSnippet(out, ['--check']);
    console.log(stdout);
    expect(stdout).toMatch(/^OK: same top class on 3 of 3 photos; probabilities differ by at most \S+ \(allowed 0\.001\)/m);
    expect(Number(/differ by at most (\S+) \(/.exec(stdout)![1])).toBeLessThanOrEqual(1e-4);
  });

  it.skipIf(!coremlValidator())("writes a Core ML model that Apple's validator accepts, and says its predictions were not checked", async () => {
    const out = path.join(tmp, 'exports', 'coreml');
    const result = await exportModel(fixture.runDir, { format: 'coreml', out });
    const sentence = "structure checked by Apple's validator; predictions not checked (needs a Mac)";
    expect(result.verified).toEqual({ kind: 'structure', checker: "Apple's Core ML validator", answer: 'VALID', summary: sentence });
    expect(result.accuracy).toBeNull();
    expect(result.files).toEqual(expect.arrayContaining(['model.mlmodel', 'metadata.json', 'MODEL_CARD.md', 'FoldwiseClassifier.swift', 'predict.py', 'samples/expected.json']));
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    expect(meta).toMatchObject({ format: 'coreml', modelFile: 'model.mlmodel', labels: fixture.classes, verified: { kind: 'structure', summary: sentence } });
    expect(meta.input).toMatchObject({ name: 'image', dtype: 'image', shape: [null, 224, 224, 3] });
    expect(fs.readFileSync(path.join(out, 'MODEL_CARD.md'), 'utf8')).toContain(sentence);
    expect(fs.readFileSync(path.join(out, 'FoldwiseClassifier.swift'), 'utf8')).toContain('NOT RUN BY FOLDWISE');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'samples', 'expected.json'), 'utf8')).samples).toHaveLength(3);
    // Nothing here runs Core ML: predicting with the export says so instead of guessing.
    await expect(createPredictor(out)).rejects.toMatchObject({ name: 'predict/cannot-run' });

    // A writer that drops one weight: Apple's validator refuses the file and nothing is put in place.
    const broken: ModelFormat = {
      ...coremlFormat,
      async write(dir, graph, meta) {
        const files = await coremlFormat.write.call(this, dir, graph, meta);
        const file = path.join(dir, 'model.mlmodel');
        const spec = decodeSpec(fs.readFileSync(file));
        const layer = (spec.neuralNetworkClassifier as { layers: { layer: string; convolution?: { weights: { floatValue: number[] } } }[] }).layers.find((l) => l.layer === 'convolution')!;
        layer.convolution!.weights.floatValue.pop();
        fs.writeFileSync(file, encodeSpec(spec));
        return files;
      },
    };
    const fresh = path.join(tmp, 'exports', 'coreml-broken');
    await expect(exportModel(fixture.runDir, { format: 'coreml', out: fresh, formatModule: broken })).rejects.toMatchObject({ name: 'export/structure-invalid', message: /Apple's Core ML validator refused/ });
    expect(fs.existsSync(fresh)).toBe(false);
  });

  it('refuses a target folder that holds other files, and a folder that is not a run', async () => {
    const busy = path.join(tmp, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    await expect(exportModel(fixture.runDir, { format: 'onnx', out: busy })).rejects.toMatchObject({ name: 'export/target-not-empty' });
    expect(fs.readdirSync(busy)).toEqual(['notes.txt']);
    await expect(exportModel(busy, { format: 'onnx', out: path.join(tmp, 'x') })).rejects.toMatchObject({ name: 'run/incomplete' });
  });

  it('lets an outside app use the ONNX file with nothing but metadata.json and its own resizing code', async () => {
    const out = path.join(tmp, 'exports', 'onnx');
    if (!fs.existsSync(out)) await exportModel(fixture.runDir, { format: 'onnx', out });
    // Everything below comes from metadata.json and sharp, the way another app would do it.
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'metadata.json'), 'utf8'));
    expect(meta.recipe).toMatchObject({ size: 224, resize: 'shorter-side', crop: 'center' });
    const size: number = meta.recipe.size;
    const session = await ort.InferenceSession.create(path.join(out, meta.modelFile));
    const files = fixture.validFiles;
    const outside: number[][] = [];
    for (const file of files) {
      // Upright (EXIF), shorter side to `size` (the other side follows the aspect ratio), then the centre square.
      const { width: w0, height: h0 } = (await sharp(file).rotate().raw().toBuffer({ resolveWithObject: true })).info;
      const resized = await sharp(file)
        .rotate()
        .resize(w0 < h0 ? { width: size, kernel: 'linear' } : { height: size, kernel: 'linear' })
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const { width: w, height: h, channels } = resized.info;
      const data = await sharp(resized.data, { raw: { width: w, height: h, channels } })
        .extract({ left: Math.round((w - size) / 2), top: Math.round((h - size) / 2), width: size, height: size })
        .raw()
        .toBuffer();
      const result = await session.run({ [meta.input.name]: new ort.Tensor('float32', Float32Array.from(data), [1, size, size, 3]) });
      outside.push(Array.from(result[meta.output.name]!.data as Float32Array));
    }
    const app = await appProbabilities(files);
    const k = meta.labels.length;
    let agree = 0;
    let maxDiff = 0;
    outside.forEach((p, i) => {
      const a = app.probs.subarray(i * k, (i + 1) * k);
      if (p.indexOf(Math.max(...p)) === a.indexOf(Math.max(...a))) agree++;
      p.forEach((v, c) => (maxDiff = Math.max(maxDiff, Math.abs(v - a[c]!))));
      expect(p.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
    });
    console.log(`outside app: ${agree}/${files.length} agree, max probability difference ${maxDiff.toExponential(2)}`);
    expect(agree).toBe(files.length);
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
  });
});

/** Runs a usage script as a user would (its packages resolved from ours) and checks its answer per photo. */
async function expectSnippetPrintsAppAnswer(script: string, files: string[]): Promise<void> {
  const stdout = await runNodeSnippet(path.dirname(script), files);
  const app = await appProbabilities(files);
  for (const [i, f] of files.entries()) {
    const best = app.probs[i * 2]! > app.probs[i * 2 + 1]! ? 0 : 1;
    const line = stdout.split('\n').find((l) => l.startsWith(`${f}: `));
    const match = line?.match(/: (\S+) \((\d+\.\d)%\)$/);
    expect(match?.[1]).toBe(app.labels[best]);
    expect(Math.abs(Number(match?.[2]) - app.probs[i * 2 + best]! * 100)).toBeLessThanOrEqual(0.051);
  }
}

/**
 * The golden samples (3 photos, one of each class first, with the app's recorded answers) and the Node
 * snippet's --check mode on them: OK as written, DIFFERENT (exit 1) once an answer is tampered with.
 */
async function expectSamplesAndCheckMode(out: string, files: string[]): Promise<void> {
  const expected = JSON.parse(fs.readFileSync(path.join(out, 'samples', 'expected.json'), 'utf8'));
  expect(expected.labels).toEqual(fixture.classes);
  expect(expected.samples).toHaveLength(3);
  expect(expected.samples.map((s: { label: string }) => s.label).slice(0, 2)).toEqual(['ants', 'bees']);
  const recorded = JSON.parse(fs.readFileSync(path.join(fixture.runDir, 'predictions.json'), 'utf8')).items;
  for (const s of expected.samples) {
    expect(files).toContain(s.file);
    const photo = fs.readFileSync(path.join(out, s.file));
    // The copy is the very photo the app scored: the same bytes as a checking photo with these answers.
    const source = recorded.find((r: { path: string }) => fs.readFileSync(r.path).equals(photo));
    expect(source?.probabilities).toEqual(s.app.probabilities);
    // The exported file's own answers, from verification: what --check compares with.
    expect(s.model.label).toBe(s.app.label);
    s.model.probabilities.forEach((p: number, c: number) => expect(Math.abs(p - s.app.probabilities[c])).toBeLessThanOrEqual(1e-4));
  }
  const node = (args: string[]) => runNodeSnippet(out, args).then((stdout) => ({ stdout }));
  const { stdout } = await node(['--check']);
  console.log(stdout);
  expect(stdout).toMatch(/^OK: same top class on 3 of 3 photos; probabilities differ by at most \S+/m);
  const worst = Number(/differ by at most (\S+) \(/.exec(stdout)![1]);
  expect(worst).toBeLessThanOrEqual(1e-4);

  // An answer off by 0.01: the check must say so and fail.
  const tampered = structuredClone(expected);
  tampered.samples[1].model.probabilities = tampered.samples[1].model.probabilities.map((p: number, i: number) => (i === 0 ? p - 0.01 : p + 0.01));
  fs.writeFileSync(path.join(out, 'samples', 'expected.json'), JSON.stringify(tampered));
  try {
    const failed = await node(['--check']).then(() => null, (e: { code: number; stdout: string }) => e);
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toMatch(/^DIFFERENT: same top class on 3 of 3 photos; probabilities differ by at most 1\.0e-2/m);
  } finally {
    fs.writeFileSync(path.join(out, 'samples', 'expected.json'), JSON.stringify(expected, null, 2));
  }

  // Python's --check where python3 has what predict.py needs (CI's has not: then only its syntax is checked).
  const python = (args: string[]) => promisify(execFile)('python3', args, { cwd: os.tmpdir() });
  const ready = await python(['-c', 'import PIL, numpy, onnxruntime']).then(() => true, () => false);
  if (!ready) {
    console.log('predict.py --check not run: python3 here lacks pillow, numpy or onnxruntime; checking its syntax only');
    await python(['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', path.join(out, 'predict.py')]).catch((e: Error) => {
      if (!/ENOENT/.test(e.message)) throw e;
    });
    return;
  }
  const py = await python([path.join(out, 'predict.py'), '--check']);
  console.log(py.stdout);
  expect(py.stdout).toMatch(/^OK: same top class on 3 of 3 photos/m);
}
