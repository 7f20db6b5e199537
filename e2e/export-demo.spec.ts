// The demo page that `foldwise export --format tfjs` writes (demo.html + the offline tf.min.js) in
// Debian's Chromium: served over HTTP and opened straight from the disk (where it asks for the model
// files), given a photo, it must name the class the app itself predicts for that photo.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from '@playwright/test';
import { expect, HYMENOPTERA, ROOT, test } from './fixtures';

const run = promisify(execFile);
const CLI = path.join(ROOT, 'dist', 'cli', 'index.js');

interface AppAnswer {
  file: string;
  label: string;
  probabilities: Record<string, number>;
}

let exportDir = '';
/** One photo per class the app predicts, each the app's most confident one for that class. */
let photos: AppAnswer[] = [];

test.skip(({ shell }) => shell !== 'browser', 'The demo is a plain web page: it runs once, in Chromium, not again in Electron.');

test.beforeAll(async ({ shell, sandbox }) => {
  if (shell !== 'browser') return;
  // A small real run through the built CLI: 10 photos a class, a few epochs.
  const data = path.join(sandbox.dir, 'demo-photos');
  for (const label of ['ants', 'bees']) {
    fs.mkdirSync(path.join(data, label), { recursive: true });
    for (const f of fs.readdirSync(path.join(HYMENOPTERA, 'train', label)).sort().slice(0, 10)) fs.copyFileSync(path.join(HYMENOPTERA, 'train', label, f), path.join(data, label, f));
  }
  const runDir = path.join(sandbox.dir, 'out', 'demo-run');
  exportDir = path.join(sandbox.dir, 'out', 'demo-export');
  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { cwd: ROOT, env: sandbox.env, maxBuffer: 16 * 1024 * 1024 });
  await cli('train', data, '--out', runDir, '--epochs', '4', '--lr', '0.003', '--no-augment', '--json');
  const exported = JSON.parse((await cli('export', runDir, '--format', 'tfjs', '--out', exportDir, '--json')).stdout);
  expect(exported.files).toEqual(expect.arrayContaining(['demo.html', 'tf.min.js', 'model.json', 'weights.bin']));

  // The app's own answers for some validation photos it never trained on.
  const candidates = ['ants', 'bees'].flatMap((label) =>
    fs.readdirSync(path.join(HYMENOPTERA, 'val', label)).sort().slice(0, 4).map((f) => path.join(HYMENOPTERA, 'val', label, f)),
  );
  const answers = JSON.parse((await cli('predict', runDir, ...candidates, '--json')).stdout) as AppAnswer[];
  photos = ['ants', 'bees'].flatMap((label) => {
    const mine = answers.filter((a) => a.label === label).sort((a, b) => b.probabilities[label]! - a.probabilities[label]!);
    return mine.slice(0, 1);
  });
  // Two photos the app tells apart, so a page that always shows one class cannot pass.
  expect(photos.map((p) => p.label), `the app's answers: ${JSON.stringify(answers)}`).toEqual(['ants', 'bees']);
});

async function classify(page: Page, photo: AppAnswer): Promise<void> {
  const status = page.locator('#status');
  // Cleared first, so the answer read below is this photo's and not the previous one's.
  await status.evaluate((el) => (el.textContent = ''));
  await page.locator('#photo').setInputFiles(photo.file);
  await expect(status).toHaveText(/^\S+ \(\d+\.\d%\)$/, { timeout: 60_000 });
  const [, label, percent] = /^(\S+) \((\d+\.\d)%\)$/.exec((await status.textContent()) ?? '')!;
  const app = photo.probabilities[photo.label]!;
  console.log(`${path.basename(photo.file)}: the page says ${label} ${percent}%, the app ${photo.label} ${(app * 100).toFixed(1)}%`);
  expect(label, path.basename(photo.file)).toBe(photo.label);
  // The browser resizes with its own filter (canvas), so the confidence may differ a little, not a lot.
  expect(Math.abs(Number(percent) / 100 - app)).toBeLessThan(0.15);
  await expect(page.locator('#result tr')).toHaveCount(2);
}

test('served over HTTP, the demo loads the model by itself and names what the app predicts', async ({ page }) => {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.bin': 'application/octet-stream' };
  const server = http.createServer((req, res) => {
    const file = path.join(exportDir, path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!file.startsWith(exportDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  try {
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/demo.html`);
    await expect(page.locator('#status')).toHaveText('Ready: ants, bees', { timeout: 60_000 });
    for (const photo of photos) await classify(page, photo);
    // Offline as promised: everything came from the export folder (and the photos from the page itself).
    expect(requests.filter((u) => !u.startsWith('http://127.0.0.1:') && !u.startsWith('blob:') && !u.startsWith('data:'))).toEqual([]);
  } finally {
    server.close();
  }
});

test('opened straight from the disk, the demo asks for model.json and weights.bin, then names what the app predicts', async ({ page }) => {
  await page.goto(pathToFileURL(path.join(exportDir, 'demo.html')).href);
  await expect(page.locator('#modelFiles')).toBeVisible({ timeout: 60_000 });
  await page.locator('#modelInput').setInputFiles([path.join(exportDir, 'model.json'), path.join(exportDir, 'weights.bin')]);
  await expect(page.locator('#status')).toHaveText('Ready: ants, bees', { timeout: 60_000 });
  for (const photo of photos) await classify(page, photo);
});
