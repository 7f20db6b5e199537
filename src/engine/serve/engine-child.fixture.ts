// A tiny engine for engine-process.test.ts: answers engine/info with its pid, blocks its own thread on
// dataset/browse the way a long Grad-CAM or fine-tuning step does, and crashes on project/recent.
import { runEngineChild } from './engine-process';

runEngineChild({
  'engine/info': async () => ({ name: 'wasm', gradients: 'cpu', badge: 'WASM', reasons: [`pid ${process.pid}`], threads: 1 }),
  'dataset/browse': async ({ dir }) => {
    const until = Date.now() + 1500;
    while (Date.now() < until); // synchronous work, like a big tensor op
    return { dir: dir ?? '/', parent: null, folders: [] };
  },
  'project/recent': async () => {
    process.exit(3); // a crash
  },
});
