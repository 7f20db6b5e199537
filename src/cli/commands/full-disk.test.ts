// `foldwise export` and `foldwise train` onto a full disk (a small tmpfs): exit code 1, one line
// that names the folder and says "space", nothing left on the disk, the user's photos untouched.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRunFixture, type RunFixture } from '../../engine/export/run-fixture.test-helpers';
import { sharedDir } from '../../engine/paths';
import { mountSmallDisk, noSmallDisks, type SmallDisk } from '../../engine/tmpfs.test-helpers';

const run = promisify(execFile);
const cli = path.resolve(__dirname, '..', 'index.ts');
const tsx = path.resolve(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');
const haveWeights = fs.existsSync(path.join(sharedDir(), 'weights', 'mobilenet_v1_025_224', 'model.json'));

/** Runs the CLI; resolves to its exit code and its output without npm's own warnings. */
async function foldwise(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string[] }> {
  const done = await run(tsx, [cli, ...args], { env }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  return { code: done.code, stdout: done.stdout, stderr: done.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn')) };
}

/** Every photo's path and sha256: what "untouched" means. */
const fingerprint = (dir: string): Record<string, string> =>
  Object.fromEntries(
    fs
      .readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => fs.statSync(path.join(dir, f)).isFile())
      .sort()
      .map((f) => [f, crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]),
  );

describe.skipIf(noSmallDisks() || !haveWeights)('foldwise export and train onto a full disk', () => {
  let tmp: string;
  let photos: string;
  let before: Record<string, string>;
  let fixture: RunFixture;
  const disks: SmallDisk[] = [];
  const env = () => ({ ...process.env, FOLDWISE_CACHE: path.join(tmp, 'cache'), FOLDWISE_DATA: path.join(tmp, 'data') });

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-full-disk-'));
    process.env.FOLDWISE_CACHE = path.join(tmp, 'cache');
    // The user's photos: a few real ones, copied, so that any change to them would show.
    photos = path.join(tmp, 'photos');
    for (const label of ['ants', 'bees']) {
      const from = path.join(sharedDir(), 'datasets', 'hymenoptera', 'train', label);
      fs.mkdirSync(path.join(photos, label), { recursive: true });
      for (const f of fs.readdirSync(from).filter((f) => f.endsWith('.jpg')).sort().slice(0, 8)) fs.copyFileSync(path.join(from, f), path.join(photos, label, f));
    }
    before = fingerprint(photos);
    fixture = await makeRunFixture(tmp, { backbone: 'mobilenet_v1_025', trainPerClass: 4, validPerClass: 3 });
  });
  afterAll(() => {
    disks.forEach((d) => d.unmount());
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const fullDisk = (opts: Parameters<typeof mountSmallDisk>[0], leave?: number) => {
    const d = mountSmallDisk(opts);
    disks.push(d);
    if (leave !== undefined) d.fill(leave);
    return d;
  };

  it('export: exits 1 with one sentence naming the folder and the space it needs, and writes nothing (not even the folders above it)', async () => {
    const disk = fullDisk({ size: '3m' }, 100_000);
    const out = path.join(disk.dir, 'exports', 'ants-bees');
    const text = await foldwise(['export', fixture.runDir, '--format', 'onnx', '--out', out], env());
    expect(text.code).toBe(1);
    expect(text.stderr).toEqual([expect.stringMatching(new RegExp(`^foldwise: The disk holding ${out} has only \\d+ kB free: Foldwise needs about [\\d.]+ MB there\\. Free some space or choose another folder\\.$`))]);
    expect(disk.contents()).toEqual([]);
  });

  it('train: a disk too full for any run is refused before the photos are read', async () => {
    const disk = fullDisk({ size: '1m' }, 20_000);
    const out = path.join(disk.dir, 'run');
    const text = await foldwise(['train', photos, '--out', out, '--backbone', 'mobilenet_v1_025', '--fine-tune', 'off', '--lr', '0.003', '--epochs', '2'], env());
    expect(text.code).toBe(1);
    expect(text.stderr).toEqual([expect.stringMatching(new RegExp(`^foldwise: The disk holding ${out} has only \\d+ kB free: Foldwise needs about \\d+ kB there\\. Free some space or choose another folder\\.$`))]);
    expect(disk.contents()).toEqual([]);
    expect(fingerprint(photos)).toEqual(before);
  });

  it('train: a disk that fills while the run is written fails the same way and leaves no half-written run', async () => {
    const disk = fullDisk({ size: '8m', inodes: 5 }); // bytes to spare, but room for only a few files
    const out = path.join(disk.dir, 'runs', 'ants-bees'); // runs/ is made too, and must go again
    const text = await foldwise(['train', photos, '--out', out, '--backbone', 'mobilenet_v1_025', '--fine-tune', 'off', '--lr', '0.003', '--epochs', '2', '--json'], env());
    expect(text.code).toBe(1);
    expect(JSON.parse(text.stdout).error).toEqual({ name: 'fs/no-space', message: expect.stringMatching(new RegExp(`^The disk holding ${out} is full: Foldwise needs about \\d+ kB there\\. Free some space or choose another folder\\.$`)) });
    expect(disk.contents()).toEqual([]);
    expect(fingerprint(photos)).toEqual(before);
  });
});
if (noSmallDisks()) console.log(`cli/commands/full-disk.test.ts: ${noSmallDisks()}`);
