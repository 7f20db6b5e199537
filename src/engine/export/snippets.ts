// Usage files written beside an export. Each must run as written: the Node scripts are run by the
// tests; the demo page works offline (tf.min.js is copied next to it) from a double-click or a server.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../paths';
import type { ExportMetadata } from './metadata';
import { kotlinMediapipe, swiftVision } from './snippets-mobile';

export interface UsageFile {
  file: string;
  what: string;
  contents: string | { copyFrom: string };
}

/** The stock tfjs browser bundle shipped with Foldwise's own dependency. */
export function tfjsBrowserBundle(): string {
  const resolve = createRequire(path.join(packageRoot(), 'package.json')).resolve;
  return path.join(path.dirname(resolve('@tensorflow/tfjs/package.json')), 'dist', 'tf.min.js');
}

export function usageFiles(meta: ExportMetadata): UsageFile[] {
  // Compared as text: the TFLite formats join the list of formats after this file was written.
  const format: string = meta.format;
  if (format === 'tfjs') {
    return [
      { file: 'demo.html', what: 'open it in a browser (double-click works, no internet needed) and drop a photo on it', contents: demoHtml(meta) },
      { file: 'tf.min.js', what: 'TensorFlow.js for the demo page, so it works offline', contents: { copyFrom: tfjsBrowserBundle() } },
      { file: 'predict.cjs', what: 'Node: `npm install @tensorflow/tfjs sharp`, then `node predict.cjs photo.jpg` (`--check` compares with the app on samples/)', contents: nodeTfjs(meta) },
    ];
  }
  if (format === 'coreml') return coremlUsage(meta);
  if (format.startsWith('tflite')) return tfliteUsage(meta);
  return [
    { file: 'predict.cjs', what: 'Node: `npm install onnxruntime-node sharp`, then `node predict.cjs photo.jpg` (`--check` compares with the app on samples/)', contents: nodeOnnx(meta) },
    { file: 'predict.py', what: 'Python: `pip install onnxruntime pillow numpy`, then `python predict.py photo.jpg` (`--check` compares with the app on samples/)', contents: pythonOnnx(meta) },
  ];
}

export async function writeUsageFiles(dir: string, files: UsageFile[]): Promise<string[]> {
  for (const f of files) {
    const target = path.join(dir, f.file);
    if (typeof f.contents === 'string') await fs.promises.writeFile(target, f.contents);
    else await fs.promises.copyFile(f.contents.copyFrom, target);
  }
  return files.map((f) => f.file);
}

// The same steps as the app's decodeForModel, in sharp: upright, alpha on white, sRGB, shorter side
// to size, centre crop, RGB bytes.
const sharpDecode = (size: number) => `async function decode(file) {
  const { data } = await sharp(file)
    .rotate() // apply EXIF orientation
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(${size}, ${size}, { fit: 'cover', position: 'centre', kernel: 'linear' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return Float32Array.from(data); // RGB 0-255, [${size}, ${size}, 3]
}`;

const printResult = `  const ranked = labels.map((label, i) => ({ label, p: probs[i] })).sort((a, b) => b.p - a.p);
  console.log(\`\${file}: \${ranked[0].label} (\${(ranked[0].p * 100).toFixed(1)}%)\`);
  for (const r of ranked) console.log(\`  \${r.label.padEnd(20)} \${r.p.toFixed(4)}\`);`;

/**
 * How far a Node snippet may be from the file's answers on the samples: it decodes with sharp exactly
 * as the app does and runs the same file in the same runtime, so only float rounding differs.
 */
export const NODE_CHECK_TOLERANCE = 1e-3;
/** Pillow resizes a little differently from the app's libvips, which moves probabilities a little. */
export const PYTHON_CHECK_TOLERANCE = 0.05;

// --check in the Node snippets: the photos in samples/ through this script's own pipeline, compared
// with the file's answers recorded in samples/expected.json (the app's where there are none).
const nodeCheck = (tolerance: number) => `// --check: runs the photos in samples/ through this script and compares with what this model gave
// for them when Foldwise checked it (samples/expected.json), and shows Foldwise's own answer beside.
async function check(classify) {
  const expected = JSON.parse(fs.readFileSync(path.join(__dirname, 'samples', 'expected.json'), 'utf8'));
  if (expected.labels.join('\\n') !== labels.join('\\n')) throw new Error('samples/expected.json is for other labels than metadata.json');
  const n = expected.samples.length;
  console.log(\`Checking this model against its answers when Foldwise checked it, for \${n} photos in samples/:\`);
  const percent = (answer) => (answer.probabilities[labels.indexOf(answer.label)] * 100).toFixed(1) + '%';
  let same = 0;
  let worst = 0;
  for (const s of expected.samples) {
    const want = s.model ?? s.app; // no model answers where Foldwise could not run the file (Core ML)
    const probs = await classify(path.join(__dirname, s.file));
    const best = probs.indexOf(Math.max(...probs));
    const diff = Math.max(...probs.map((p, i) => Math.abs(p - want.probabilities[i])));
    if (labels[best] === want.label) same++;
    worst = Number.isNaN(diff) ? Infinity : Math.max(worst, diff);
    const app = s.model ? \`; Foldwise's app: \${s.app.label} (\${percent(s.app)})\` : '';
    console.log(\`  \${s.file}: \${labels[best]} (\${(probs[best] * 100).toFixed(1)}%); \${s.model ? 'this model when Foldwise checked it' : "Foldwise's app"}: \${want.label} (\${percent(want)}), largest difference \${diff.toExponential(1)}\${app}\`);
  }
  const ok = same === n && worst <= ${tolerance};
  console.log(\`\${ok ? 'OK' : 'DIFFERENT'}: same top class on \${same} of \${n} photos; probabilities differ by at most \${worst.toExponential(1)} (allowed ${tolerance}).\`);
  process.exitCode = ok ? 0 : 1;
}`;

const nodeMain = `async function main() {
  const classify = await load();
  if (process.argv[2] === '--check') return check(classify);
  const files = process.argv.slice(2);
  if (files.length === 0) console.log('Usage: node predict.cjs photo.jpg [more.jpg ...]   or   node predict.cjs --check');
  for (const file of files) {
    const probs = await classify(file);
${printResult}
  }
}
main().catch((e) => { console.error(e.message); process.exit(1); });`;

function nodeTfjs(meta: ExportMetadata): string {
  const size = meta.recipe.size;
  return `// Classifies photos with the exported TF.js model: node predict.cjs photo.jpg [more.jpg ...]
// node predict.cjs --check compares its answers for the photos in samples/ with Foldwise's own.
// Needs: npm install @tensorflow/tfjs sharp   (tfjs-node is optional; it only makes it faster)
const fs = require('node:fs');
const path = require('node:path');
const tf = require('@tensorflow/tfjs');
const sharp = require('sharp');

const dir = __dirname;
const { labels } = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));

// Reads model.json and its weight file from disk (tf's file:// loader needs tfjs-node).
const fromDisk = {
  async load() {
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
    const bytes = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
    return { modelTopology: json.modelTopology, weightSpecs, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
  },
};

${sharpDecode(size)}

/** Loads the model; returns a function from a photo file to its probabilities, in the order of labels. */
async function load() {
  const model = await tf.loadGraphModel(fromDisk);
  return async (file) => {
    const pixels = await decode(file);
    return Array.from(tf.tidy(() => model.predict(tf.tensor4d(pixels, [1, ${size}, ${size}, 3]))).dataSync());
  };
}

${nodeCheck(NODE_CHECK_TOLERANCE)}

${nodeMain}
`;
}

function nodeOnnx(meta: ExportMetadata): string {
  const size = meta.recipe.size;
  return `// Classifies photos with the exported ONNX model: node predict.cjs photo.jpg [more.jpg ...]
// node predict.cjs --check compares its answers for the photos in samples/ with Foldwise's own.
// Needs: npm install onnxruntime-node sharp
const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');
const sharp = require('sharp');

const { labels, input, output } = JSON.parse(fs.readFileSync(path.join(__dirname, 'metadata.json'), 'utf8'));

${sharpDecode(size)}

/** Loads the model; returns a function from a photo file to its probabilities, in the order of labels. */
async function load() {
  const session = await ort.InferenceSession.create(path.join(__dirname, 'model.onnx'));
  return async (file) => {
    const pixels = await decode(file);
    const result = await session.run({ [input.name]: new ort.Tensor('float32', pixels, [1, ${size}, ${size}, 3]) });
    return Array.from(result[output.name].data);
  };
}

${nodeCheck(NODE_CHECK_TOLERANCE)}

${nodeMain}
`;
}

function nodeTflite(meta: ExportMetadata): string {
  const size = meta.recipe.size;
  return `// Classifies photos with the exported TFLite model and Google's LiteRT.js (@litertjs/core, the TFLite
// runtime for WebAssembly): node predict.cjs photo.jpg [more.jpg ...]
// node predict.cjs --check compares its answers for the photos in samples/ with Foldwise's own.
// Needs: npm install @litertjs/core sharp
const fs = require('node:fs');
const path = require('node:path');
const url = require('node:url');
const vm = require('node:vm');
const sharp = require('sharp');

const { labels, modelFile } = JSON.parse(fs.readFileSync(path.join(__dirname, 'metadata.json'), 'utf8'));

${sharpDecode(size)}

// LiteRT.js is written for browsers and web workers; in Node it needs what a worker has: 'self', a
// 'require' for its glue code, and an 'importScripts' that runs a script file in this global scope.
async function liteRt() {
  const wasmDir = path.join(path.dirname(require.resolve('@litertjs/core/package.json')), 'wasm');
  globalThis.self ??= globalThis;
  globalThis.require ??= require;
  globalThis.__dirname ??= wasmDir;
  globalThis.importScripts ??= (...urls) => {
    for (const url of urls) {
      const file = url.startsWith('file:') ? new URL(url).pathname : url;
      vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
    }
  };
  // Found the way require finds packages (NODE_PATH included), then loaded as the ES module it is.
  const litert = await import(url.pathToFileURL(require.resolve('@litertjs/core')).href);
  await litert.loadLiteRt(wasmDir + '/');
  return litert;
}

/** Runs fn with LiteRT's start-up notes (INFO, WARNING ... lines) kept off the console. */
async function quietly(fn) {
  const saved = { log: console.log, warn: console.warn, error: console.error };
  for (const key of Object.keys(saved)) {
    console[key] = (...args) => /^(INFO|WARNING|VERBOSE): |^Created TensorFlow Lite|WebGPU/.test(String(args[0])) || saved[key](...args);
  }
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}

/** Loads the model; returns a function from a photo file to its probabilities, in the order of labels. */
async function load() {
  const { litert, model } = await quietly(async () => {
    const litert = await liteRt();
    return { litert, model: await litert.loadAndCompile(new Uint8Array(fs.readFileSync(path.join(__dirname, modelFile))), { accelerator: 'wasm' }) };
  });
  return async (file) => {
    const input = new litert.Tensor(await decode(file), [1, ${size}, ${size}, 3]);
    const [output] = await model.run(input);
    const probs = Array.from(output.toTypedArray());
    output.delete();
    input.delete();
    return probs;
  };
}

${nodeCheck(NODE_CHECK_TOLERANCE)}

${nodeMain}
`;
}

// Python: the app's recipe in Pillow, and --check against samples/expected.json. `runtime` loads the
// model and defines run(x) for a [1, SIZE, SIZE, 3] float32 array of RGB 0-255.
function python(meta: ExportMetadata, args: { what: string; needs: string; runtime: string; note?: string }): string {
  const size = meta.recipe.size;
  return `"""Classifies photos with the exported ${args.what}: python predict.py photo.jpg [more.jpg ...]
python predict.py --check compares its answers for the photos in samples/ with Foldwise's own.
Needs: ${args.needs}
Pillow's bilinear resize is not byte-identical to the app's (libvips), so probabilities can differ
slightly from the app's; --check shows by how much.${args.note ? '\n' + args.note : ''}
"""
import json
import os
import sys

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
META = json.load(open(os.path.join(HERE, "metadata.json")))
LABELS = META["labels"]
SIZE = ${size}
TOLERANCE = ${PYTHON_CHECK_TOLERANCE}


def decode(path):
    img = ImageOps.exif_transpose(Image.open(path))  # apply EXIF orientation
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    img = img.convert("RGB")
    scale = SIZE / min(img.size)  # shorter side to SIZE, then the centre square
    w, h = max(SIZE, round(img.width * scale)), max(SIZE, round(img.height * scale))
    img = img.resize((w, h), Image.BILINEAR)
    left, top = int((w - SIZE) / 2 + 0.5), int((h - SIZE) / 2 + 0.5)  # rounded, like the app
    img = img.crop((left, top, left + SIZE, top + SIZE))
    return np.asarray(img, dtype=np.float32)[None]  # [1, SIZE, SIZE, 3], RGB 0-255


${args.runtime}


def classify(path):
    return [float(p) for p in run(decode(path))]


def check():
    expected = json.load(open(os.path.join(HERE, "samples", "expected.json")))
    if expected["labels"] != LABELS:
        sys.exit("samples/expected.json is for other labels than metadata.json")
    n = len(expected["samples"])
    print(f"Checking this model against its answers when Foldwise checked it, for {n} photos in samples/:")
    percent = lambda answer: f"{answer['probabilities'][LABELS.index(answer['label'])] * 100:.1f}%"
    same, worst = 0, 0.0
    for s in expected["samples"]:
        want = s.get("model", s["app"])  # no model answers where Foldwise could not run the file (Core ML)
        probs = classify(os.path.join(HERE, s["file"]))
        best = max(range(len(probs)), key=lambda i: probs[i])
        diff = max(abs(p - q) for p, q in zip(probs, want["probabilities"]))
        same += LABELS[best] == want["label"]
        worst = float("inf") if diff != diff else max(worst, diff)  # NaN counts as a failure
        reference = "this model when Foldwise checked it" if "model" in s else "Foldwise's app"
        app = f"; Foldwise's app: {s['app']['label']} ({percent(s['app'])})" if "model" in s else ""
        print(f"  {s['file']}: {LABELS[best]} ({probs[best] * 100:.1f}%); {reference}: {want['label']} ({percent(want)}), largest difference {diff:.1e}{app}")
    ok = same == n and worst <= TOLERANCE
    print(f"{'OK' if ok else 'DIFFERENT'}: same top class on {same} of {n} photos; probabilities differ by at most {worst:.1e} (allowed {TOLERANCE}).")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        check()
    if not sys.argv[1:]:
        print("Usage: python predict.py photo.jpg [more.jpg ...]   or   python predict.py --check")
    for path in sys.argv[1:]:
        probs = classify(path)
        ranked = sorted(zip(LABELS, probs), key=lambda x: -x[1])
        print(f"{path}: {ranked[0][0]} ({ranked[0][1] * 100:.1f}%)")
        for label, p in ranked:
            print(f"  {label:20} {p:.4f}")
`;
}

function pythonOnnx(meta: ExportMetadata): string {
  return python(meta, {
    what: 'ONNX model',
    needs: 'pip install onnxruntime pillow numpy',
    runtime: `import onnxruntime as ort

session = ort.InferenceSession(os.path.join(HERE, META["modelFile"]), providers=["CPUExecutionProvider"])


def run(x):
    return session.run([META["output"]["name"]], {META["input"]["name"]: x})[0][0]`,
  });
}

function tfliteUsage(meta: ExportMetadata): UsageFile[] {
  return [
    { file: 'predict.cjs', what: 'Node: `npm install @litertjs/core sharp`, then `node predict.cjs photo.jpg` (`--check` compares with the app on samples/)', contents: nodeTflite(meta) },
    { file: 'FoldwiseClassifier.kt', what: 'Android: MediaPipe ImageClassifier in Kotlin, with checkSamples() (not compiled or run by Foldwise: no Android SDK here)', contents: kotlinMediapipe(meta) },
    {
      file: 'predict.py',
      what: 'Python: `pip install ai-edge-litert pillow numpy`, then `python predict.py photo.jpg` (`--check` compares with the app on samples/)',
      contents: python(meta, {
        what: `TFLite model (${meta.modelFile})`,
        needs: 'pip install ai-edge-litert pillow numpy   (or tensorflow instead of ai-edge-litert)',
        runtime: `try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:
    from tensorflow.lite import Interpreter

interpreter = Interpreter(model_path=os.path.join(HERE, META["modelFile"]))
interpreter.allocate_tensors()
INPUT = interpreter.get_input_details()[0]
OUTPUT = interpreter.get_output_details()[0]
PRE = META["preprocessing"]


def run(x):
    if not PRE.get("insideModel", True):  # scaling the model expects and does not do itself
        x = x * PRE["scale"] + PRE["offset"]
    interpreter.set_tensor(INPUT["index"], x.astype(INPUT["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(OUTPUT["index"])[0]`,
      }),
    },
  ];
}

function coremlUsage(meta: ExportMetadata): UsageFile[] {
  return [
    { file: 'FoldwiseClassifier.swift', what: 'iPhone, iPad, Mac: Vision + Core ML in Swift, with checkSamples() (not compiled or run by Foldwise: needs a Mac)', contents: swiftVision(meta) },
    {
      file: 'predict.py',
      what: 'Python on a Mac: `pip install coremltools pillow numpy`, then `python predict.py photo.jpg` (`--check` compares with the app on samples/; Core ML predicts only on macOS)',
      contents: python(meta, {
        what: `Core ML model (${meta.modelFile})`,
        needs: 'macOS, and pip install coremltools pillow numpy',
        note: 'Core ML runs only on Apple systems: on Linux or Windows coremltools can read the model but not predict.',
        runtime: `import coremltools as ct

model = ct.models.MLModel(os.path.join(HERE, META["modelFile"]))


def run(x):
    # The model takes the ${meta.recipe.size}x${meta.recipe.size} picture itself and scales it inside.
    picture = Image.fromarray(x[0].astype(np.uint8), "RGB")
    probabilities = model.predict({META["input"]["name"]: picture})[META["output"]["name"]]
    return [probabilities[label] for label in LABELS]`,
      }),
    },
  ];
}

function demoHtml(meta: ExportMetadata): string {
  const size = meta.recipe.size;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Try the classifier</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  #drop { border: 3px dashed #8aa; border-radius: 12px; padding: 2rem; text-align: center; cursor: pointer; }
  #drop.over { background: #eef6f6; }
  img { max-width: 100%; max-height: 320px; display: block; margin: 1rem auto; }
  .bar { background: #2166ac; height: 1rem; border-radius: 3px; }
  td { padding: .2rem .5rem; } td:last-child { width: 60%; }
  #status { color: #555; }
</style>
</head>
<body>
<h1>Try the classifier</h1>
<p id="status">Loading the model…</p>
<div id="modelFiles" hidden>
  <p>This page was opened straight from the disk, where browsers do not let it read model.json by itself.
  Choose <b>model.json</b> and <b>weights.bin</b> from this folder (both at once), or serve the folder
  (for example <code>npx http-server</code> or <code>python -m http.server</code>) and open it from there.</p>
  <input type="file" id="modelInput" multiple accept=".json,.bin">
</div>
<div id="drop" hidden>Drop a photo here, or click to choose one<input type="file" id="photo" accept="image/*" hidden></div>
<img id="preview" alt="">
<table id="result"></table>
<!-- TensorFlow.js is the copy beside this page, so it works without internet. -->
<script src="tf.min.js"></script>
<script>
const LABELS = ${JSON.stringify(meta.labels)};
const SIZE = ${size};
let model = null;
const $ = (id) => document.getElementById(id);

async function start() {
  try {
    model = await tf.loadGraphModel('model.json');
    ready();
  } catch (e) {
    $('status').textContent = 'Choose the model files to start.';
    $('modelFiles').hidden = false;
  }
}
$('modelInput').addEventListener('change', async (e) => {
  const files = Array.from(e.target.files);
  const json = files.find((f) => f.name.endsWith('.json'));
  const weights = files.filter((f) => f.name.endsWith('.bin'));
  if (!json || weights.length === 0) { $('status').textContent = 'Choose both model.json and weights.bin.'; return; }
  model = await tf.loadGraphModel(tf.io.browserFiles([json, ...weights]));
  $('modelFiles').hidden = true;
  ready();
});

function ready() {
  $('status').textContent = 'Ready: ' + LABELS.join(', ');
  $('drop').hidden = false;
}

// The app's recipe: upright photo (browsers apply EXIF orientation), shorter side to SIZE, centre square.
async function pixelsOf(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = SIZE / Math.min(bitmap.width, bitmap.height);
  const w = bitmap.width * scale, h = bitmap.height * scale;
  const canvas = document.createElement('canvas');
  canvas.width = SIZE; canvas.height = SIZE;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, SIZE, SIZE); // transparency on white
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, (SIZE - w) / 2, (SIZE - h) / 2, w, h);
  return tf.browser.fromPixels(canvas).toFloat().expandDims(0); // [1, SIZE, SIZE, 3], RGB 0-255
}

async function classify(file) {
  $('preview').src = URL.createObjectURL(file);
  const x = await pixelsOf(file);
  const probs = await model.predict(x).data();
  x.dispose();
  const ranked = LABELS.map((label, i) => ({ label, p: probs[i] })).sort((a, b) => b.p - a.p);
  $('status').textContent = ranked[0].label + ' (' + (ranked[0].p * 100).toFixed(1) + '%)';
  $('result').innerHTML = ranked.map((r) =>
    '<tr><td>' + r.label.replace(/</g, '&lt;') + '</td><td>' + (r.p * 100).toFixed(1) + '%</td><td><div class="bar" style="width:' + (r.p * 100) + '%"></div></td></tr>').join('');
}

const drop = $('drop');
drop.addEventListener('click', () => $('photo').click());
$('photo').addEventListener('change', (e) => e.target.files[0] && classify(e.target.files[0]));
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault(); drop.classList.remove('over');
  const file = e.dataTransfer.files[0];
  if (file) classify(file);
});
start();
</script>
</body>
</html>
`;
}
