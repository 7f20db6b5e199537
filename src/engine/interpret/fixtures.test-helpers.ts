// Fake run folders for review tests, laid out as docs/ENGINE.md describes (no model unless asked).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SavedPrediction } from './review';

export function tempDir(prefix = 'foldwise-interpret-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface FakeRun {
  classes: string[];
  items: SavedPrediction[];
  backbone?: string;
  /** Leave out result.json, as a cancelled or crashed run would. */
  unfinished?: boolean;
}

export function writeFakeRun(dir: string, run: FakeRun): string {
  fs.mkdirSync(dir, { recursive: true });
  const backbone = run.backbone ?? 'mobilenet_v1_025';
  const json = (name: string, value: unknown) => fs.writeFileSync(path.join(dir, name), JSON.stringify(value));
  json('config.json', { root: '/photos', backbone, classes: run.classes, seed: 42 });
  json('predictions.json', { classes: run.classes, items: run.items });
  json('metadata.json', { labels: run.classes, backbone, inputSize: 224, createdAt: new Date().toISOString() });
  if (!run.unfinished) json('result.json', { runDir: dir, classes: run.classes, backbone });
  return dir;
}
