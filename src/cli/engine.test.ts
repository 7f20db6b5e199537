// The CLI's engine is the app's service behind the same rpc, so its progress is rate-limited at the
// same boundary: a progress bar is redrawn a few times a second, not once per file.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpeg, tempDir, useTempCache, write } from '../engine/dataset/corpus.test-helpers';
import type { Progress } from '../shared/types';
import { startLocalEngine } from './engine';

useTempCache();

describe('startLocalEngine', () => {
  const files = 600;
  let root: string;
  beforeAll(async () => {
    root = tempDir();
    const photo = await jpeg(1, 16, 16);
    // One picture copied: a scan still examines (decodes and hashes) every file.
    for (let i = 0; i < files; i++) write(root, `${i % 2 ? 'cats' : 'dogs'}/${i}.jpg`, photo);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('sends a scan of many files as a bounded number of progress events, ending at done = total', async () => {
    const client = startLocalEngine();
    const events: Progress[] = [];
    client.on('job/progress', (p) => events.push(p));
    const started = Date.now();
    await client.call('dataset/scan', { root });
    const ms = Date.now() - started;
    // The opening 'Looking for photos', the first counted step, one per 250 ms, and the last.
    expect(events.length).toBeLessThanOrEqual(3 + Math.ceil(ms / 250));
    expect(events.length).toBeLessThan(files / 10);
    expect(events.at(-1)).toMatchObject({ stage: 'scan', done: files, total: files, etaSeconds: 0 });
  });
});
