// An exported TF.js folder reloaded by stock @tensorflow/tfjs on every core (see runner-pool.ts):
// tfjs-wasm runs one thread per backend in Node, so a copy runs here and one in each worker thread
// (worker.ts task 'export-tfjs', about a second to boot tfjs).
import * as tf from '@tensorflow/tfjs';
import type { Loader } from './formats/types';
import { startRunnerPool } from './runner-pool';
import { loadTfjsExport } from './tfjs-io';

/**
 * Starts (threads - 1) worker threads with tfjs on wasm now; load(dir) then loads the export here and in
 * each of them. `waitForWorkers`: load() resolves only once the workers have joined (tests).
 */
export function startTfjsRunners(threads: number, opts: { waitForWorkers?: boolean } = {}): Loader {
  return startRunnerPool({
    threads,
    task: 'export-tfjs',
    what: 'TF.js model',
    runtime: () => `tfjs-${tf.getBackend()}`,
    loadHere: loadTfjsExport,
    waitForWorkers: opts.waitForWorkers,
  });
}
