import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpeg, tempDir, write } from '../../engine/dataset/corpus.test-helpers';
import { formatScan } from './scan';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '..', 'index.ts');
const tsx = path.resolve(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');

describe('foldwise scan', () => {
  let root: string;
  let cache: string;
  beforeAll(async () => {
    root = tempDir();
    cache = tempDir('foldwise-cache-');
    for (let i = 0; i < 6; i++) write(root, `cats/${i}.jpg`, await jpeg(i, 48, 48));
    for (let i = 0; i < 6; i++) write(root, `dogs/${i}.jpg`, await jpeg(10 + i, 48, 48));
    write(root, 'dogs/broken.jpg', 'not a photo at all');
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
  });
  const env = () => ({ ...process.env, FOLDWISE_CACHE: cache });

  it('prints exactly one JSON object with --json and exits 0 despite problems', async () => {
    const { stdout } = await run(tsx, [cli, 'scan', root, '--json'], { env: env() });
    const summary = JSON.parse(stdout);
    expect(Object.keys(summary)).toEqual(expect.arrayContaining(['root', 'layout', 'classes', 'images', 'problems', 'duplicates', 'warnings']));
    expect(summary).toMatchObject({ root, layout: 'classes', images: 12 });
    expect(summary.classes.map((c: { name: string }) => c.name)).toEqual(['cats', 'dogs']);
    expect(summary.problems).toEqual([expect.objectContaining({ file: 'dogs/broken.jpg', kind: 'not-an-image' })]);
  });

  it('prints a readable summary without --json', async () => {
    const { stdout } = await run(tsx, [cli, 'scan', root], { env: env() });
    expect(stdout).toContain('2 classes, 12 usable photos, 1 with problems');
    expect(stdout).toMatch(/cats\s+\d+\s+\d+\s+0/);
    expect(stdout).toContain('[not-an-image] dogs/broken.jpg');
  });

  it('fails with one line and exit code 1 when the folder does not exist', async () => {
    const error = await run(tsx, [cli, 'scan', path.join(root, 'missing')], { env: env() }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(error?.code).toBe(1);
    const lines = error!.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
    expect(lines).toEqual([`foldwise: There is no folder at ${path.join(root, 'missing')}. Check the path.`]);
  });
});

describe('formatScan', () => {
  it('lists duplicates with their flags and says when nothing is wrong', () => {
    const base = { root: '/p', layout: 'classes' as const, images: 2, problems: [], warnings: [], classes: [{ name: 'a', images: { train: 1, valid: 1, test: 0 } }] };
    expect(formatScan({ ...base, duplicates: [] })).toContain('No problems found.');
    const text = formatScan({ ...base, duplicates: [{ files: ['a/1.jpg', 'b/1.jpg'], exact: true, crossClass: true, crossSplit: false }] });
    expect(text).toContain('a/1.jpg = b/1.jpg (identical, label conflict)');
  });
});
