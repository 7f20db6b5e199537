// TFLite (LiteRT) for Android: one .tflite file with the labels and input description inside
// (TFLite metadata), written by our own flatbuffer writer (../tflite) and loaded back with Google's
// LiteRT.js (wasm, XNNPACK) for verification, as an app's runtime would run it: one copy in this
// thread and one in a worker thread per extra core (LiteRT.js runs one thread in Node).
import fs from 'node:fs';
import path from 'node:path';
import { classifierMetadata, LABELS_FILE, withAssociatedFiles } from '../tflite/metadata';
import { loadTfliteRunner } from '../tflite/runner';
import { graphToTflite } from '../tflite/writer';
import { startRunnerPool } from '../runner-pool';
import type { Loader, LoadOptions, ModelFormat } from './types';

function tfliteFormat(id: 'tflite' | 'tflite-fp16'): ModelFormat {
  const float16 = id === 'tflite-fp16';
  return {
    id,
    modelFile: 'model.tflite',
    inputName: 'pixels',
    outputName: 'probabilities',
    // Weights rounded to float16 move probabilities by up to ~1e-2, and may swap the top class of a photo the app finds a near tie.
    tolerance: float16 ? { agreement: 0.99, maxAbsDiff: 2e-2 } : undefined,
    async write(dir, graph, meta) {
      const metadata = classifierMetadata({
        name: `Foldwise image classifier (${meta.backbone.name})`,
        description: `Classifies a photo as one of: ${meta.labels.join(', ')}. Preprocessing is inside the model: feed RGB values 0-255.`,
        version: meta.runId,
        author: `Foldwise ${meta.appVersion}`,
        labels: meta.labels,
        inputSize: meta.recipe.size,
      });
      const model = graphToTflite(graph, { weights: float16 ? 'float16' : 'float32', inputName: this.inputName, outputName: this.outputName, description: `Foldwise ${meta.appVersion}`, metadata });
      await fs.promises.writeFile(path.join(dir, this.modelFile), withAssociatedFiles(model, { [LABELS_FILE]: `${meta.labels.join('\n')}\n` }));
      return [this.modelFile];
    },
    load(dir, opts) {
      return prepareTfliteLoad(this.modelFile, opts ?? {}).load(dir);
    },
    prepareLoad(opts) {
      return prepareTfliteLoad(this.modelFile, opts);
    },
  };
}

/**
 * With `threads` > 1: one copy of the file in this thread and one in each of (threads - 1) worker
 * threads, started now, while the file is written (runner-pool.ts). Verification spends most of its
 * time in LiteRT (a float16 file with the mirror average: ~60 ms a photo), which the copies share.
 */
function prepareTfliteLoad(modelFile: string, opts: LoadOptions): Loader {
  if ((opts.threads ?? 1) <= 1) return { load: (dir) => loadTfliteRunner(path.join(dir, modelFile)), dispose: () => undefined };
  const pool = startRunnerPool({
    threads: opts.threads!,
    task: 'export-tflite',
    what: 'TFLite model',
    runtime: () => 'litert.js-wasm',
    loadHere: (file) => loadTfliteRunner(file),
  });
  return { load: (dir) => pool.load(path.join(dir, modelFile)), dispose: () => pool.dispose() };
}

export const tfliteFp32Format = tfliteFormat('tflite');
export const tfliteFp16Format = tfliteFormat('tflite-fp16');
