import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as flatbuffers from 'flatbuffers';
import { unzipSync } from 'fflate';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel } from '../export';
import { loadTfliteRunner } from './runner';
import { graphFromModel } from '../graph';
import { createPredictor } from '../predictor';
import { predictFiles } from '../predict';
import { makeRunFixture, runNodeSnippet, type RunFixture } from '../run-fixture.test-helpers';
import { startRunnerPool } from '../runner-pool';
import { fromFloat16Bits, toFloat16Bits } from './float16';
import { BuiltinOperator, Model, TensorType } from './generated/schema_generated';
import { ModelMetadata } from './generated/metadata_schema_generated';
import { compileTflite, runEach } from './litert';
import { graphToTflite } from './writer';
import { calibrate, correctBiases, planInt8, quantizeWeights } from './quantize';
import { graphToGraphModel } from '../graph/tfjs-graph';
import { INT8_TOLERANCE } from './tolerance';

let tmp: string;
let fixture: RunFixture;
const cacheBefore = process.env.FOLDWISE_CACHE;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-tflite-'));
  process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
  fixture = await makeRunFixture(tmp, { backbone: 'mobilenet_v1_025', trainPerClass: 4, validPerClass: 4, tta: true });
});
afterAll(() => {
  process.env.FOLDWISE_CACHE = cacheBefore;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A small graph with every op the writer knows for classifiers: strided, padded, depthwise, add, pooling, dense, softmax. */
function smallModel(output: 'softmax' | 'linear' = 'softmax'): tf.LayersModel {
  const init = (seed: number) => tf.initializers.randomNormal({ seed, stddev: 0.4 });
  const input = tf.input({ shape: [10, 10, 3] });
  const scaled = tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }).apply(input) as tf.SymbolicTensor;
  const padded = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(scaled) as tf.SymbolicTensor;
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, kernelInitializer: init(1), biasInitializer: init(2) }).apply(padded) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ gammaInitializer: init(3), movingMeanInitializer: init(4) }).apply(a) as tf.SymbolicTensor;
  const r = tf.layers.reLU({ maxValue: 6 }).apply(bn) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2, depthwiseInitializer: init(5) }).apply(r) as tf.SymbolicTensor;
  const pw = tf.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'relu', kernelInitializer: init(6) }).apply(dw) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([dw, pw]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(sum) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: output, kernelInitializer: init(7) }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function pixels(n: number, size: number, seed: number): Float32Array {
  let s = seed;
  return new Float32Array(n * size * size * 3).map(() => ((s = (s * 1664525 + 1013904223) >>> 0), s % 256));
}

describe('the TFLite writer', () => {
  it('writes float32 and float16 files LiteRT.js runs like tfjs, aligned and with both operator codes', async () => {
    const model = smallModel();
    const { graph } = graphFromModel(model);
    const px = pixels(3, 10, 7);
    const expected = tf.tidy(() => {
      const x = tf.tensor4d(px, [3, 10, 10, 3]);
      return tf.div(tf.add(model.predict(x) as tf.Tensor, model.predict(tf.reverse(x, 2)) as tf.Tensor), 2).dataSync();
    });
    for (const weights of ['float32', 'float16'] as const) {
      const bytes = graphToTflite({ ...graph, mirrorAverage: true }, { weights });
      const parsed = Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes));
      expect(Model.bufferHasIdentifier(new flatbuffers.ByteBuffer(bytes))).toBe(true);
      for (let i = 0; i < parsed.buffersLength(); i++) {
        const data = parsed.buffers(i)!.dataArray();
        if (data && data.length > 0) expect((data.byteOffset - bytes.byteOffset) % 16).toBe(0); // from the file's start
      }
      const codes = Array.from({ length: parsed.operatorCodesLength() }, (_, i) => parsed.operatorCodes(i)!);
      for (const c of codes) expect(c.deprecatedBuiltinCode()).toBe(Math.min(c.builtinCode(), 127));
      expect(codes.some((c) => c.builtinCode() === BuiltinOperator.REVERSE_V2)).toBe(true);
      const subgraph = parsed.subgraphs(0)!;
      const types = Array.from({ length: subgraph.tensorsLength() }, (_, i) => subgraph.tensors(i)!.type());
      expect(types.includes(TensorType.FLOAT16)).toBe(weights === 'float16');
      expect(codes.some((c) => c.builtinCode() === BuiltinOperator.DEQUANTIZE)).toBe(weights === 'float16');

      const { litert, model: compiled } = await compileTflite(bytes);
      const actual = await runEach(litert, compiled, px, 3, [1, 10, 10, 3]);
      compiled.delete();
      let diff = 0;
      for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
      expect(diff).toBeLessThan(weights === 'float32' ? 1e-5 : 2e-2);
    }
    model.dispose();
  });

  it('writes an 8-bit file (int8 body, per-channel weights, float head) whose answers LiteRT.js keeps close to the float model', async () => {
    // Scores without the softmax, whose near-even probabilities here would hide errors.
    const model = smallModel('linear');
    const { graph } = graphFromModel(model);
    const px = pixels(6, 10, 11);
    const expected = tf.tidy(() => (model.predict(tf.tensor4d(px, [6, 10, 10, 3])) as tf.Tensor).dataSync());
    async function* batches() {
      yield { pixels: px, n: 6 };
    }
    const plan = planInt8(graph, (await calibrate(graph, batches())).ranges);
    const bytes = graphToTflite(graph, { weights: 'int8', int8: plan });
    const subgraph = Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes)).subgraphs(0)!;
    const tensors = Array.from({ length: subgraph.tensorsLength() }, (_, i) => subgraph.tensors(i)!);
    // Every convolution's filter is int8 with one scale per output channel and zero point 0.
    const filters = tensors.filter((t) => t.type() === TensorType.INT8 && t.name()!.endsWith('/filter'));
    expect(filters.length).toBe(graph.nodes.filter((n) => n.op === 'conv2d' || n.op === 'depthwiseConv2d').length);
    for (const f of filters) {
      const channels = f.shape(f.quantization()!.quantizedDimension())!;
      expect(f.quantization()!.scaleLength()).toBe(channels);
      expect(Array.from({ length: channels }, (_, c) => Number(f.quantization()!.zeroPoint(c)))).toEqual(new Array(channels).fill(0));
    }
    expect(tensors.some((t) => t.type() === TensorType.INT32 && t.name()!.endsWith('/bias'))).toBe(true);
    // The dense head stays float32.
    expect(tensors.some((t) => t.type() === TensorType.FLOAT32 && t.name()!.includes('dense') && t.buffer() > 0)).toBe(true);

    const { litert, model: compiled } = await compileTflite(bytes);
    const actual = await runEach(litert, compiled, px, 6, [1, 10, 10, 3]);
    compiled.delete();
    const spread = Math.max(...expected) - Math.min(...expected);
    const error = (got: Float32Array) => Math.max(...Array.from(got, (v, i) => Math.abs(v - expected[i]!))) / spread;
    expect(error(actual)).toBeLessThan(0.05); // measured 0.019 of the scores' spread
    // A plan whose zero points are off (0 no longer stands for 0) is far off: the check above can fail.
    const wrong = new Map([...plan].map(([id, q]) => [id, { ...q, zeroPoint: Math.min(127, q.zeroPoint + 100) }]));
    const { model: broken } = await compileTflite(graphToTflite(graph, { weights: 'int8', int8: wrong }));
    const off = await runEach(litert, broken, px, 6, [1, 10, 10, 3]);
    broken.delete();
    expect(error(off)).toBeGreaterThan(0.2); // measured 0.43
    model.dispose();
  });

  it('rounds to float16 as IEEE 754 does', () => {
    for (const v of [0, 1, -2.5, 65504, 1e-7, 0.1, 3.14159]) expect(fromFloat16Bits(toFloat16Bits(v))).toBeCloseTo(v, v === 0.1 || v === 3.14159 ? 2 : 6);
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(1e6)).toBe(0x7c00); // beyond float16: infinity
    expect(toFloat16Bits(2 ** -24)).toBe(1); // the smallest subnormal
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to even
  });
});

describe('TFLite export', () => {
  it('exports float32, float16 and 8-bit files with metadata and labels inside that agree with the app, and predict runs them', async () => {
    const sizes: Record<string, number> = {};
    for (const format of ['tflite', 'tflite-fp16', 'tflite-int8'] as const) {
      const out = path.join(tmp, 'exports', format);
      const result = await exportModel(fixture.runDir, { format, out });
      expect(result.verified.images).toBe(8);
      if (format === 'tflite') {
        expect(result.verified.agreement).toBe(1);
        expect(result.verified.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      } else if (format === 'tflite-fp16') {
        expect(result.verified.agreement).toBeGreaterThanOrEqual(0.99);
        expect(result.verified.maxAbsDiff).toBeLessThanOrEqual(2e-2);
      } else {
        expect(result.verified.agreement).toBeGreaterThanOrEqual(INT8_TOLERANCE.agreement);
        expect(result.verified.meanAbsDiff).toBeLessThanOrEqual(INT8_TOLERANCE.meanAbsDiff);
      }
      expect(result.runtime.exported).toMatch(/^litert\.js-wasm( in this thread)?/);
      const file = path.join(out, 'model.tflite');
      const bytes = new Uint8Array(fs.readFileSync(file));
      sizes[format] = bytes.length;
      const meta = JSON.parse(fs.readFileSync(path.join(out, 'metadata.json'), 'utf8')) as { format: string; labels: string[]; recipe: { size: number } };
      expect(meta.format).toBe(format);

      // TFLite metadata: the labels as an associated file, the image input with its normalization.
      const parsed = Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes));
      const entries = Array.from({ length: parsed.metadataLength() }, (_, i) => parsed.metadata(i)!);
      const entry = entries.find((m) => m.name() === 'TFLITE_METADATA')!;
      const mdBytes = parsed.buffers(entry.buffer())!.dataArray()!;
      const md = ModelMetadata.getRootAsModelMetadata(new flatbuffers.ByteBuffer(mdBytes));
      expect(ModelMetadata.bufferHasIdentifier(new flatbuffers.ByteBuffer(mdBytes))).toBe(true);
      const input = md.subgraphMetadata(0)!.inputTensorMetadata(0)!;
      const norm = input.processUnits(0)!.options(new (await import('./generated/metadata_schema_generated')).NormalizationOptions()) as { meanArray(): Float32Array; stdArray(): Float32Array };
      expect(Array.from(norm.meanArray())).toEqual([0, 0, 0]);
      expect(Array.from(norm.stdArray())).toEqual([1, 1, 1]);
      expect(md.subgraphMetadata(0)!.outputTensorMetadata(0)!.associatedFiles(0)!.name()).toBe('labels.txt');
      const zipStart = bytes.findIndex((_, i) => bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 3 && bytes[i + 3] === 4 && i > bytes.length - 4096);
      const unzipped = unzipSync(bytes.subarray(zipStart));
      expect(new TextDecoder().decode(unzipped['labels.txt']).trim().split('\n')).toEqual(meta.labels);

      // `foldwise predict` on the export folder: LiteRT again, with the app's labels.
      const predictor = await createPredictor(out);
      expect(predictor.kind).toBe(format);
      const answers = await predictFiles(predictor, [fixture.validFiles[0]!]);
      predictor.dispose();
      expect(meta.labels).toContain(answers[0]!.label);

      // The samples hold the file's own answers (rounded, for float16 and 8-bit), and the Node snippet
      // gives the same numbers: its --check is as tight for a rounding file as for float32.
      const samples = JSON.parse(fs.readFileSync(path.join(out, 'samples', 'expected.json'), 'utf8')).samples as { app: { probabilities: number[] }; model: { probabilities: number[] } }[];
      const rounding = Math.max(...samples.flatMap((s) => s.model.probabilities.map((p, c) => Math.abs(p - s.app.probabilities[c]!))));
      if (format === 'tflite') expect(rounding).toBeLessThanOrEqual(1e-4);
      else expect(rounding).toBeGreaterThan(1e-6);
      expect(await runNodeSnippet(out, ['--check'])).toMatch(/^OK: same top class on 3 of 3 photos; probabilities differ by at most \S+ \(allowed 0\.001\)/m);
    }
    expect(sizes['tflite-fp16']! / sizes.tflite!).toBeGreaterThan(0.45);
    expect(sizes['tflite-fp16']! / sizes.tflite!).toBeLessThan(0.6);
    expect(sizes['tflite-int8']! / sizes.tflite!).toBeLessThan(0.4);
  });

  it('calibrates an 8-bit file without a training photo that is gone, and lists it with why', async () => {
    const runDir = path.join(tmp, 'run-with-a-missing-photo');
    fs.cpSync(fixture.runDir, runDir, { recursive: true });
    const file = path.join(runDir, 'predictions.json');
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { items: { split: string; path?: string }[] };
    const gone = path.join(tmp, 'moved-away.jpg');
    saved.items.find((i) => i.split === 'train')!.path = gone;
    fs.writeFileSync(file, JSON.stringify(saved));
    const result = await exportModel(runDir, { format: 'tflite-int8', out: path.join(tmp, 'exports', 'int8-missing') });
    expect(result.skipped).toEqual([{ file: gone, reason: expect.stringMatching(/^not used to calibrate the 8-bit model: .*moved-away\.jpg/) }]);
    expect(result.verified.agreement).toBeGreaterThanOrEqual(INT8_TOLERANCE.agreement);
  });

  it('corrects an 8-bit convolution\'s bias for what rounding its weights takes away on the photos\' average', async () => {
    const { graph } = graphFromModel(smallModel('linear'));
    const px = pixels(8, 10, 21);
    const calibration = await calibrate(graph, (async function* () {
      yield { pixels: px, n: 8 };
    })());
    const plan = planInt8(graph, calibration.ranges);
    const corrected = correctBiases(graph, plan, calibration.means);
    // The 1x1 convolution: every output position reads one input position, so means carry over exactly.
    const pw = graph.nodes.find((n) => n.op === 'conv2d' && n.filterShape[1] === 1)!;
    if (pw.op !== 'conv2d') throw new Error('no 1x1 convolution');
    const [o, , , i] = pw.filterShape;
    const written = graphToGraphModel({ ...graph, mirrorAverage: false });
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: written.modelTopology, weightSpecs: written.weightSpecs, weightData: written.weightData }));
    const inputMean = tf.tidy(() => (model.execute(tf.tensor4d(px, [8, 10, 10, 3]), written.names[pw.inputs[0]!]!) as tf.Tensor).mean([0, 1, 2]).dataSync());
    model.dispose();
    const { values, scales } = quantizeWeights(pw.filter, pw.filterShape, 0);
    // Mean pre-activation output per channel: sum over inputs of weight x input mean, plus the bias.
    const meanOut = (weight: (k: number) => number, bias: Float32Array) => Array.from({ length: o }, (_, a) => bias[a]! + Array.from({ length: i }, (_, c) => weight(a * i + c) * inputMean[c]!).reduce((x, y) => x + y, 0));
    const float = meanOut((k) => pw.filter[k]!, pw.bias);
    const rounded = (k: number) => values[k]! * scales[Math.floor(k / i)]!;
    const correctedNode = corrected.nodes[pw.id]!;
    if (correctedNode.op !== 'conv2d') throw new Error('node changed kind');
    const off = (means: number[]) => Math.max(...means.map((m, a) => Math.abs(m - float[a]!)));
    const before = off(meanOut(rounded, pw.bias));
    const after = off(meanOut(rounded, correctedNode.bias));
    expect(before).toBeGreaterThan(1e-4); // rounding does shift the means
    expect(after).toBeLessThan(before / 100);
    // Nodes that stay float keep their biases.
    for (const n of graph.nodes) if (!plan.has(n.id) && (n.op === 'conv2d' || n.op === 'dense')) expect(corrected.nodes[n.id]).toBe(n);
  });

  it('names a broken .tflite file and says what to do', async () => {
    const broken = path.join(tmp, 'broken.tflite');
    fs.writeFileSync(broken, 'not a model at all');
    await expect(loadTfliteRunner(broken)).rejects.toThrow(/broken\.tflite.*Export the model again/);
  });
});

describe('LiteRT.js on every core', () => {
  it('runs a .tflite file in this thread and in worker threads, and returns every image in order', async () => {
    const model = smallModel();
    const file = path.join(tmp, 'pool', 'model.tflite');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, graphToTflite({ ...graphFromModel(model).graph, mirrorAverage: true }, { weights: 'float16' }));
    model.dispose();
    const n = 23; // pieces of 4 shared by both copies, the last one short; each image different
    const px = pixels(n, 10, 11);
    const alone = await loadTfliteRunner(file);
    const expected = await alone.run(px, n);
    alone.dispose();
    const pool = startRunnerPool({ threads: 2, task: 'export-tflite', what: 'TFLite model', runtime: () => 'litert.js-wasm', loadHere: loadTfliteRunner, waitForWorkers: true });
    try {
      const runner = await pool.load(file);
      expect(runner.runtime).toBe('litert.js-wasm in this thread + 1 worker thread');
      // Two batches at once, as verification sends them.
      const [a, b] = await Promise.all([runner.run(px.slice(), n), runner.run(px.slice(0, 5 * 300), 5)]);
      expect(a).toHaveLength(n * 3);
      for (let k = 0; k < a.length; k++) expect(Math.abs(a[k]! - expected[k]!)).toBeLessThan(1e-6);
      expect(Array.from(b)).toEqual(Array.from(a.subarray(0, 15)));
      await expect(runner.run(new Float32Array(10), 1)).rejects.toThrow(/Expected 1 images of 10x10x3 pixels/);
    } finally {
      pool.dispose();
    }
  });
});
