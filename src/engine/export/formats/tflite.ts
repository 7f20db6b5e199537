// TFLite (LiteRT) for Android: one .tflite file with the labels and input description inside
// (TFLite metadata), written by our own flatbuffer writer (../tflite) and loaded back with Google's
// LiteRT.js (wasm, XNNPACK) for verification, as an app's runtime would run it: one copy in this
// thread and one in a worker thread per extra core (LiteRT.js runs one thread in Node).
import fs from 'node:fs';
import path from 'node:path';
import { decodeForModel, type ResizeRecipe } from '../../dataset/decode';
import { EngineError } from '../../../shared/rpc';
import { classifierMetadata, LABELS_FILE, withAssociatedFiles } from '../tflite/metadata';
import { calibrate, correctBiases, planInt8, type Int8Plan } from '../tflite/quantize';
import { loadTfliteRunner } from '../tflite/runner';
import { FP16_TOLERANCE, INT8_TOLERANCE } from '../tflite/tolerance';
import { graphToTflite } from '../tflite/writer';
import { startRunnerPool } from '../runner-pool';
import type { Loader, LoadOptions, ModelFormat, WriteContext } from './types';

const WEIGHTS = { tflite: 'float32', 'tflite-fp16': 'float16', 'tflite-int8': 'int8' } as const;

function tfliteFormat(id: keyof typeof WEIGHTS): ModelFormat {
  const weights = WEIGHTS[id];
  return {
    id,
    modelFile: 'model.tflite',
    inputName: 'pixels',
    outputName: 'probabilities',
    tolerance: weights === 'float16' ? FP16_TOLERANCE : weights === 'int8' ? INT8_TOLERANCE : undefined,
    async write(dir, written, meta, context) {
      let graph = written;
      let int8: Int8Plan | undefined;
      if (weights === 'int8') {
        const calibration = await calibrate(graph, calibrationBatches(context ?? { calibrationPhotos: [] }, meta.recipe));
        int8 = planInt8(graph, calibration.ranges);
        graph = correctBiases(graph, int8, calibration.means);
      }
      const metadata = classifierMetadata({
        name: `Foldwise image classifier (${meta.backbone.name})`,
        description: `Classifies a photo as one of: ${meta.labels.join(', ')}. Preprocessing is inside the model: feed RGB values 0-255.`,
        version: meta.runId,
        author: `Foldwise ${meta.appVersion}`,
        labels: meta.labels,
        inputSize: meta.recipe.size,
      });
      const model = graphToTflite(graph, { weights, int8, inputName: this.inputName, outputName: this.outputName, description: `Foldwise ${meta.appVersion}`, metadata });
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

/** Calibration photos decoded by the app's one decode path, 8 at a time; one that cannot be read is left out and reported. */
async function* calibrationBatches({ calibrationPhotos: photos, onUnreadable }: WriteContext, recipe: ResizeRecipe): AsyncGenerator<{ pixels: Float32Array; n: number }> {
  let used = 0;
  for (let i = 0; i < photos.length; i += 8) {
    const decoded = await Promise.all(
      photos.slice(i, i + 8).map((p) =>
        decodeForModel(p, recipe).catch((error: unknown) => {
          onUnreadable?.(p, (error as Error).message);
          return null;
        }),
      ),
    );
    const ok = decoded.filter((d): d is Uint8Array => d !== null);
    if (ok.length === 0) continue;
    const pixels = new Float32Array(ok.length * ok[0]!.length);
    ok.forEach((d, k) => pixels.set(d, k * d.length));
    used += ok.length;
    yield { pixels, n: ok.length };
  }
  if (used === 0) {
    throw new EngineError(
      'export/no-calibration-photos',
      `An 8-bit export measures the range of its values on the training photos, and none of the ${photos.length} listed by this run could be read. Put the photos back, or export "TFLite" (float32) instead.`,
    );
  }
}

export const tfliteFp32Format = tfliteFormat('tflite');
export const tfliteFp16Format = tfliteFormat('tflite-fp16');
export const tfliteInt8Format = tfliteFormat('tflite-int8');
