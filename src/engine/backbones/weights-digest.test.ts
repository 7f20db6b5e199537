import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { weightsDigest } from './weights-digest';

const folders: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A backbone folder: model.json naming two weight shards. */
function backbone(shards: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-weights-'));
  folders.push(dir);
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: Object.keys(shards), weights: [] }] }));
  for (const [name, bytes] of Object.entries(shards)) fs.writeFileSync(path.join(dir, name), bytes);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a weight file');
  return dir;
}

/** Rewrites a file with a new mtime, as a re-download or a fine-tune would. */
function rewrite(file: string, bytes: string, secondsLater: number) {
  fs.writeFileSync(file, bytes);
  const t = new Date(Date.now() + secondsLater * 1000);
  fs.utimesSync(file, t, t);
}

describe('weightsDigest', () => {
  it('is the same for the same weights in two folders and differs when one weight byte differs', async () => {
    const a = backbone({ 'w1.bin': 'aaaa', 'w2.bin': 'bbbb' });
    const b = backbone({ 'w1.bin': 'aaaa', 'w2.bin': 'bbbb' });
    const c = backbone({ 'w1.bin': 'aaaa', 'w2.bin': 'bbbc' });
    expect(await weightsDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(await weightsDigest(b)).toBe(await weightsDigest(a));
    expect(await weightsDigest(c)).not.toBe(await weightsDigest(a));
  });

  it('reads the weights once while nothing changes, and again when a file is rewritten', async () => {
    const dir = backbone({ 'w1.bin': 'aaaa', 'w2.bin': 'bbbb' });
    const first = await weightsDigest(dir);
    const reads = vi.spyOn(fs.promises, 'readFile');
    expect(await weightsDigest(dir)).toBe(first);
    expect(reads).not.toHaveBeenCalled();

    // Same size, other bytes: only the mtime tells the stat check something changed.
    rewrite(path.join(dir, 'w2.bin'), 'bbbx', 10);
    const changed = await weightsDigest(dir);
    expect(changed).not.toBe(first);
    expect(reads.mock.calls.map(([f]) => path.basename(String(f)))).toEqual(['model.json', 'w1.bin', 'w2.bin']);
    rewrite(path.join(dir, 'notes.txt'), 'other notes', 20); // not named by model.json: not part of the weights
    expect(await weightsDigest(dir)).toBe(changed);
  });
});
