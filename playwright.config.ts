// End-to-end tests: the whole wizard against the real engine, in Debian's Chromium through
// `foldwise serve`, and in Electron where its binary is installed (skipped, and saying so, where not).
import { defineConfig } from '@playwright/test';
import type { Shell } from './e2e/fixtures';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export default defineConfig<{ shell: Shell }>({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  // One wizard run trains a real model on 2 shared cores: minutes, not seconds.
  timeout: 12 * 60_000,
  expect: { timeout: 20_000 },
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: [['list']],
  use: {
    viewport: { width: 1280, height: 900 },
    screenshot: 'only-on-failure',
    // Tracing snapshots the DOM on every action, on the page's own thread: it would add long tasks to
    // the measurement of the UI thread during training. Run with --retries=1 to get a trace of a failure.
    trace: 'on-first-retry',
    actionTimeout: 20_000,
    // Debian's Chromium for every project: Playwright's own browsers are not downloaded here.
    browserName: 'chromium',
    launchOptions: { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS },
  },
  projects: [
    {
      name: 'browser',
      use: { shell: 'browser' },
    },
    {
      name: 'electron',
      use: { shell: 'electron' },
      // The auth test is about `foldwise serve`; Electron has no HTTP server to refuse.
      testIgnore: /auth\.spec\.ts/,
    },
  ],
});
