import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, createPortPair, serveRpc } from '../../shared/rpc';
import type { Progress } from '../../shared/types';
import { jpeg, tempDir, useTempCache, write } from './corpus.test-helpers';
import { datasetHandlers } from './handlers';

useTempCache();

function connect() {
  const [enginePort, clientPort] = createPortPair();
  serveRpc(enginePort, datasetHandlers());
  return createClient(clientPort);
}

describe('dataset/scan over rpc', () => {
  it('returns the summary and sends scan progress ending at done = total', async () => {
    const root = tempDir();
    for (let i = 0; i < 8; i++) write(root, `a/${i}.jpg`, await jpeg(i, 40, 40));
    for (let i = 0; i < 8; i++) write(root, `b/${i}.jpg`, await jpeg(20 + i, 40, 40));
    const client = connect();
    const events: Progress[] = [];
    client.on('job/progress', (p) => events.push(p));
    const handle = client.call('dataset/scan', { root });
    const summary = await handle;
    expect(summary.images).toBe(16);
    expect(summary.classes.map((c) => c.name)).toEqual(['a', 'b']);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => e.stage === 'scan' && e.job === handle.job)).toBe(true);
    expect(events.at(-1)).toMatchObject({ done: 16, total: 16 });
    fs.rmSync(root, { recursive: true });
  });

  it('sends progress at least once a second and honours cancel', async () => {
    const root = tempDir();
    // Enough large photos that an idle 2-core machine cannot finish before the first progress event's cancel lands.
    for (let i = 0; i < 150; i++) write(root, `a/${i}.jpg`, await jpeg(i, 800, 600));
    write(root, 'b/0.jpg', await jpeg(99, 40, 40));
    const client = connect();
    const times: number[] = [];
    const handle = client.call('dataset/scan', { root });
    client.on('job/progress', (p) => {
      times.push(Date.now());
      if (p.done < p.total) handle.cancel(); // mid-scan: the first event comes long before 151 photos are done
    });
    await expect(handle).rejects.toMatchObject({ name: 'job/cancelled' });
    expect(times.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeLessThan(1500);
    fs.rmSync(root, { recursive: true });
  });

  it('answers a missing folder with a named error', async () => {
    await expect(connect().call('dataset/scan', { root: '/nope/not/here' })).rejects.toMatchObject({ name: 'dataset/not-found' });
  });
});

describe('dataset/browse', () => {
  it('lists visible sub-folders, sorted, with the parent', async () => {
    const dir = tempDir();
    for (const d of ['beta', 'Alpha', '.hidden', 'gamma 10', 'gamma 9']) fs.mkdirSync(path.join(dir, d));
    write(dir, 'file.jpg', 'x');
    fs.symlinkSync(path.join(dir, 'beta'), path.join(dir, 'link-to-beta'));
    const result = await connect().call('dataset/browse', { dir });
    expect(result).toEqual({ dir, parent: path.dirname(dir), folders: ['Alpha', 'beta', 'gamma 9', 'gamma 10', 'link-to-beta'] });
    fs.rmSync(dir, { recursive: true });
  });

  it('starts at the home folder and stops at the top', async () => {
    expect((await connect().call('dataset/browse', {})).dir).toBe(os.homedir());
    expect((await connect().call('dataset/browse', { dir: '/' })).parent).toBeNull();
    await expect(connect().call('dataset/browse', { dir: '/nope/not/here' })).rejects.toMatchObject({ name: 'dataset/not-found' });
  });
});
