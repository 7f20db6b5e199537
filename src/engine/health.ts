// 'engine/health': the numbers a long session is checked with (e2e/long-session.spec.ts). Tensors
// leaked by a job, memory that only grows, or file handles left open each show up here as a count
// that climbs from one round of scan, train, review and export to the next.
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { EngineHealth } from '../shared/types';

/** Open descriptors of this process; null off Linux (no /proc/self/fd to list). */
function openFiles(): number | null {
  try {
    // The listing itself holds one descriptor open while it reads: not counted.
    return fs.readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  }
}

export function engineHealth(): EngineHealth {
  // A full collection first where the engine allows one (node --expose-gc, as the long-session test
  // starts it): then the numbers say what is still held, not how long ago the collector last ran.
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  return { tensors: tf.memory().numTensors, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, openFiles: openFiles() };
}
