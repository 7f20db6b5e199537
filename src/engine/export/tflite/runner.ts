// A written .tflite image classifier loaded by LiteRT.js: apart from the writer and its generated
// flatbuffer code, so that a verification worker thread loads only what it runs (0.6 s less to boot).
import fs from 'node:fs';
import { EngineError } from '../../../shared/rpc';
import type { Runner } from '../formats/types';
import { compileTflite, runEach } from './litert';

/** A .tflite image classifier (batch 1, [1, size, size, 3] float32 in) run by LiteRT.js, one photo at a time. */
export async function loadTfliteRunner(file: string): Promise<Runner> {
  const bytes = await fs.promises.readFile(file);
  let compiled: Awaited<ReturnType<typeof compileTflite>>;
  try {
    compiled = await compileTflite(bytes);
  } catch (error) {
    throw new EngineError('predict/not-a-model', `LiteRT cannot load ${file}: ${(error as Error).message}. Export the model again.`, { file });
  }
  const { litert, model } = compiled;
  const shape = [...model.getInputDetails()[0]!.shape];
  if (shape.length !== 4 || shape[0] !== 1 || shape[3] !== 3 || shape[1] !== shape[2]) {
    model.delete();
    throw new EngineError('predict/not-a-model', `${file} takes input of shape [${shape.join(', ')}]; Foldwise models take one square RGB image [1, size, size, 3].`, { file });
  }
  return {
    runtime: 'litert.js-wasm',
    inputSize: shape[1]!,
    run: (pixels, n) => runEach(litert, model, pixels, n, shape),
    dispose: () => model.delete(),
  };
}
