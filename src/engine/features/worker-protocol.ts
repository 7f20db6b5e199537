// Messages between the wasm worker pool and src/engine/worker.ts.
export interface EmbedWorkerData {
  task: 'embed';
  backbone: string;
}
export type WorkerRequest = { type: 'embed'; id: number; pixels: Uint8Array; n: number };
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'features'; id: number; features: Float32Array }
  | { type: 'error'; id: number; message: string };
