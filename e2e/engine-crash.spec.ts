// Browser mode: the engine's child process dies; `foldwise serve` restarts it behind the open page,
// which says so (the same notices the desktop app shows) and keeps working without a reload.
import path from 'node:path';
import { childrenOf, photoFolder } from './engine-process';
import { expect, startServe, stopServe, test } from './fixtures';
import { FoldersPage } from './pages/folders';
import { WizardPage } from './pages/wizard';

test('a crashed engine is restarted and the page says so, then scans again', async ({ page, sandbox, shell }, testInfo) => {
  if (shell !== 'browser') {
    const reason = "SKIPPED in Electron: this test kills foldwise serve's engine child; Electron's utility process goes through the same engine host, unit-tested with a stand-in process.";
    console.log(reason); // the list reporter prints this line, so the skip is plain in the test output
    test.skip(true, reason);
  }
  test.skip(process.platform !== 'linux', 'Finds the engine process through /proc.');
  const { child, served } = await startServe(sandbox.env);
  try {
    await page.goto(served.url);
    const folders = new FoldersPage(page);
    await folders.scan(photoFolder(path.join(sandbox.dir, 'before-crash')));
    await expect(folders.classCards()).toHaveCount(2);

    const engines = childrenOf(child.pid!);
    expect(engines).toHaveLength(1);
    process.kill(engines[0]!, 'SIGKILL');
    await expect(page.getByText('The engine stopped unexpectedly (killed by SIGKILL). Restarting it…')).toBeVisible();
    await expect(page.getByText('The engine restarted.')).toBeVisible({ timeout: 60_000 });
    expect(childrenOf(child.pid!)).not.toContain(engines[0]);
    await new WizardPage(page, testInfo).screenshot('engine-restarted');

    // The same tab, no reload: the new engine answers.
    await folders.scan(photoFolder(path.join(sandbox.dir, 'after-crash')));
    await expect(folders.classCards()).toHaveCount(2);
    await expect(page.getByText('connection to Foldwise\'s engine was lost')).toHaveCount(0);
  } finally {
    await stopServe(child);
  }
});
