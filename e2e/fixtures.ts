// Fixtures: a temp cache and data folder per worker, `foldwise serve` started from the built dist
// (browser project) or the Electron app (electron project), and a Page on the wizard either way.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron, test as base, type ElectronApplication, type Page } from '@playwright/test';

export type Shell = 'browser' | 'electron';

export const ROOT = path.resolve(__dirname, '..');
export const SHARED = path.resolve(process.env.FOLDWISE_SHARED ?? path.join(ROOT, '..', 'shared'));
export const HYMENOPTERA = path.join(SHARED, 'datasets', 'hymenoptera');
export const SCREENSHOTS = path.join(ROOT, 'e2e', 'screenshots');

export interface Sandbox {
  /** A fresh folder for this worker: cache/, data/ and out/ live inside. */
  dir: string;
  env: NodeJS.ProcessEnv;
}

export interface Served {
  url: string;
  port: number;
  token: string;
  output(): string;
}

function requireBuilt(): void {
  const missing = ['dist/cli/index.js', 'dist/renderer/index.html'].filter((f) => !fs.existsSync(path.join(ROOT, f)));
  if (missing.length) throw new Error(`The e2e tests run the built app, but ${missing.join(' and ')} is missing. Run "npm run build" first.`);
}

/** Path of Electron's binary, or null where the optional package could not download it. */
export function electronBinary(): string | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binary: unknown = require('electron');
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

/** Starts `foldwise serve --port 0` and resolves with the printed link. */
export async function startServe(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; served: Served }> {
  requireBuilt();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli', 'index.js'), 'serve', '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const served = await new Promise<Served>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`foldwise serve printed no link within 60 s. Output:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+))/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, port: Number(match[2]), token: match[3]!, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`foldwise serve exited (${code}) before printing its link. Output:\n${out}`));
    });
  });
  return { child, served };
}

/** Stops a server started by startServe (SIGTERM, then SIGKILL after 5 s). */
export async function stopServe(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export const test = base.extend<{ app: Page; electronApp: ElectronApplication | null }, { shell: Shell; sandbox: Sandbox; served: Served | null }>({
  shell: ['browser', { option: true, scope: 'worker' }],

  sandbox: [
    async ({}, use) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-e2e-'));
      for (const sub of ['cache', 'data', 'out']) fs.mkdirSync(path.join(dir, sub));
      const env = { ...process.env, FOLDWISE_CACHE: path.join(dir, 'cache'), FOLDWISE_DATA: path.join(dir, 'data'), FOLDWISE_SHARED: SHARED };
      await use({ dir, env });
      fs.rmSync(dir, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],

  served: [
    async ({ shell, sandbox }, use) => {
      if (shell !== 'browser') return use(null);
      const { child, served } = await startServe(sandbox.env);
      await use(served);
      await stopServe(child);
    },
    { scope: 'worker' },
  ],

  // One app per test, like one fresh page per test in the browser; the cache folder is shared.
  electronApp: async ({ shell, sandbox }, use) => {
    if (shell !== 'electron') return use(null);
    const binary = electronBinary();
    if (!binary) return use(null);
    requireBuilt();
    const app = await _electron.launch({ executablePath: binary, args: [ROOT], cwd: ROOT, env: sandbox.env as Record<string, string> });
    await use(app);
    await app.close();
  },

  app: async ({ shell, page, served, electronApp }, use, testInfo) => {
    if (shell === 'electron') {
      if (!electronApp) {
        const reason = `SKIPPED in Electron: the Electron binary is not installed here (the optional "electron" package needs the internet to download it). "${testInfo.title}" runs in browser mode instead.`;
        console.log(reason); // the list reporter prints this line, so the skip is plain in the test output
        testInfo.skip(true, reason);
      }
      const window = await electronApp!.firstWindow();
      await window.setViewportSize({ width: 1280, height: 900 });
      await use(window);
      return;
    }
    await page.goto(served!.url);
    await use(page);
  },
});

export { expect } from '@playwright/test';
