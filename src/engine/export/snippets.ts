// Usage files written beside an export. Each must run as written: the Node scripts are run by the
// tests; the demo page works offline (tf.min.js is copied next to it) from a double-click or a server.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../paths';
import type { ExportMetadata } from './metadata';

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
  if (meta.format === 'tfjs') {
    return [
      { file: 'demo.html', what: 'open it in a browser (double-click works, no internet needed) and drop a photo on it', contents: demoHtml(meta) },
      { file: 'tf.min.js', what: 'TensorFlow.js for the demo page, so it works offline', contents: { copyFrom: tfjsBrowserBundle() } },
      { file: 'predict.cjs', what: 'Node: `npm install @tensorflow/tfjs sharp`, then `node predict.cjs photo.jpg`', contents: nodeTfjs(meta) },
    ];
  }
  return [
    { file: 'predict.cjs', what: 'Node: `npm install onnxruntime-node sharp`, then `node predict.cjs photo.jpg`', contents: nodeOnnx(meta) },
    { file: 'predict.py', what: 'Python: `pip install onnxruntime pillow numpy`, then `python predict.py photo.jpg`', contents: pythonOnnx(meta) },
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

function nodeTfjs(meta: ExportMetadata): string {
  const size = meta.recipe.size;
  return `// Classifies photos with the exported TF.js model: node predict.cjs photo.jpg [more.jpg ...]
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

async function main() {
  const model = await tf.loadLayersModel(fromDisk);
  for (const file of process.argv.slice(2)) {
    const pixels = await decode(file);
    const probs = Array.from(tf.tidy(() => model.predict(tf.tensor4d(pixels, [1, ${size}, ${size}, 3]))).dataSync());
${printResult}
  }
}
main().catch((e) => { console.error(e.message); process.exit(1); });
`;
}

function nodeOnnx(meta: ExportMetadata): string {
  const size = meta.recipe.size;
  return `// Classifies photos with the exported ONNX model: node predict.cjs photo.jpg [more.jpg ...]
// Needs: npm install onnxruntime-node sharp
const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');
const sharp = require('sharp');

const { labels, input, output } = JSON.parse(fs.readFileSync(path.join(__dirname, 'metadata.json'), 'utf8'));

${sharpDecode(size)}

async function main() {
  const session = await ort.InferenceSession.create(path.join(__dirname, 'model.onnx'));
  for (const file of process.argv.slice(2)) {
    const pixels = await decode(file);
    const result = await session.run({ [input.name]: new ort.Tensor('float32', pixels, [1, ${size}, ${size}, 3]) });
    const probs = Array.from(result[output.name].data);
${printResult}
  }
}
main().catch((e) => { console.error(e.message); process.exit(1); });
`;
}

function pythonOnnx(meta: ExportMetadata): string {
  const size = meta.recipe.size;
  return `"""Classifies photos with the exported ONNX model: python predict.py photo.jpg [more.jpg ...]
Needs: pip install onnxruntime pillow numpy
Pillow's bilinear resize is not byte-identical to the app's (libvips), so probabilities can differ
slightly from the app's on borderline photos.
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
META = json.load(open(os.path.join(HERE, "metadata.json")))
SIZE = ${size}


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


session = ort.InferenceSession(os.path.join(HERE, "model.onnx"), providers=["CPUExecutionProvider"])
for path in sys.argv[1:]:
    probs = session.run([META["output"]["name"]], {META["input"]["name"]: decode(path)})[0][0]
    ranked = sorted(zip(META["labels"], probs), key=lambda x: -x[1])
    print(f"{path}: {ranked[0][0]} ({ranked[0][1] * 100:.1f}%)")
    for label, p in ranked:
        print(f"  {label:20} {p:.4f}")
`;
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
    model = await tf.loadLayersModel('model.json');
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
  model = await tf.loadLayersModel(tf.io.browserFiles([json, ...weights]));
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
