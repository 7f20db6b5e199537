// Messages between the inference worker pool (worker-pool.ts) and src/engine/worker.ts.
export interface EmbedWorkerData {
  task: 'embed';
  backbone: string;
  /** What runs the backbone inside the worker. */
  engine: 'wasm' | 'onnxruntime';
  /** The converted backbone's cache file and its key (the worker checks it again), for engine 'onnxruntime'. */
  onnx?: { file: string; key: string };
  inputSize: number;
  /** Threads inside this worker (onnxruntime only; tfjs-wasm is single-threaded in Node). */
  threads?: number;
  /** wasm only: run the feature model up to this layer and return its activations (flattened) instead of features. */
  cut?: string;
}
export type WorkerRequest = { type: 'embed'; id: number; pixels: Uint8Array; n: number };
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'features'; id: number; features: Float32Array }
  | { type: 'error'; id: number; message: string };
