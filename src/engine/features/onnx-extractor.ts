// The ONNX Runtime route: the frozen backbone (preprocessing included) is converted once by our own
// ONNX writer, cached in cacheDir()/onnx keyed by the backbone's weights digest (behind the checked
// cache header of cache-file.ts, so onnxruntime is handed the checked bytes, not the file), and run
// by onnxruntime-node on the CPU. onnxruntime's kernels are several times faster than tfjs-wasm here.
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { getBackbone } from '../backbones/catalog';
import { loadFeatureModel } from '../backbones/load';
import { backboneWeightsDigest } from '../backbones/weights-digest';
import { layersModelToOnnx } from '../onnx';
import { emptyTally, countRead, readCacheFile, writeCacheFile, type CacheTally } from '../cache-file';
import { cacheDir } from '../paths';
import type { Extractor } from './extractor';
import { ONNX_CONVERSION_FORMAT, readConvertedBackbone } from './onnx-file';
import { checkPixels } from './tfjs-extractor';
import { createWorkerExtractor } from './worker-pool';


export async function createOnnxExtractor(backboneId: string, opts: { threads: number; workers?: number }): Promise<Extractor> {
  const spec = getBackbone(backboneId);
  const { file, key, remade } = await convertedBackbone(backboneId);
  // More than 4 workers would split a batch of 32 into slivers; beyond that, threads go inside the workers.
  const workers = Math.min(opts.workers ?? Math.min(opts.threads, 4), opts.threads);
  if (workers > 0) {
    const threadsPerWorker = Math.max(1, Math.floor(opts.threads / workers));
    const pool = await createWorkerExtractor(backboneId, { workers, engine: 'onnxruntime', onnx: { file, key }, threadsPerWorker });
    return Object.assign(pool, { remade });
  }
  const session = await ort.InferenceSession.create(await readConvertedBackbone(file, key), {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  const size = spec.inputSize;
  let disposed = false;
  let running: Promise<unknown> = Promise.resolve();
  return {
    backend: `onnxruntime-cpu x${opts.threads}`,
    route: 'onnxruntime',
    notes: '',
    featureSize: spec.featureSize,
    inputSize: size,
    remade,
    async embed(pixels, n) {
      checkPixels(pixels, n, size);
      if (disposed) throw new Error('This feature extractor was closed');
      if (n === 0) return new Float32Array(0);
      const x = new ort.Tensor('float32', Float32Array.from(pixels), [n, size, size, 3]);
      const run = session.run({ [input]: x });
      running = run.catch(() => undefined);
      const result = await run;
      const y = result[output]!;
      const data = new Float32Array(y.data as Float32Array); // own the memory before disposing
      y.dispose();
      return data;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      // Releasing a session during a run would pull memory from under it: wait for the run.
      void running.then(() => session.release());
    },
  };
}

/** The backbone as ONNX: its cache file and key, converted the first time or when the file fails its check (atomic write). */
export async function convertedBackbone(backboneId: string): Promise<{ file: string; key: string; remade: CacheTally }> {
  const spec = getBackbone(backboneId);
  // The weights this computer holds, not the catalog's declared ones: an imported or fine-tuned copy converts anew.
  const weights = await backboneWeightsDigest(backboneId);
  const key = `${spec.id}|${weights}|${spec.featureLayer}|${JSON.stringify(spec.preprocessing)}`;
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const file = path.join(cacheDir(), 'onnx', `${spec.id}-${digest}-v${ONNX_CONVERSION_FORMAT.version}.onnx`);
  const remade = emptyTally();
  const read = await readCacheFile(file, ONNX_CONVERSION_FORMAT, key);
  if (read.ok) return { file, key, remade };
  countRead(remade, read);
  const model = await loadFeatureModel(backboneId);
  try {
    const bytes = layersModelToOnnx(model, { inputName: 'pixels', outputName: 'features', docString: `Foldwise feature extractor ${spec.id}` });
    await writeCacheFile(file, ONNX_CONVERSION_FORMAT, key, bytes);
  } finally {
    model.dispose();
  }
  return { file, key, remade };
}
