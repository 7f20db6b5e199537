// The Folders step on small folders made for each test: problems, a single class, a missing folder,
// and the server-side folder browser of browser mode.
import fs from 'node:fs';
import path from 'node:path';
import { expect, HYMENOPTERA, test } from './fixtures';
import { FoldersPage } from './pages/folders';
import { WizardPage } from './pages/wizard';

/** Copies `n` real photos of `label` from hymenoptera into `dir/<label>`. */
function copyPhotos(dir: string, label: string, n: number): void {
  const from = path.join(HYMENOPTERA, 'train', label);
  fs.mkdirSync(path.join(dir, label), { recursive: true });
  for (const file of fs.readdirSync(from).filter((f) => f.endsWith('.jpg')).slice(0, n)) fs.copyFileSync(path.join(from, file), path.join(dir, label, file));
}

test.beforeEach(() => {
  test.skip(!fs.existsSync(HYMENOPTERA), `The shared photos are missing at ${HYMENOPTERA}; set FOLDWISE_SHARED.`);
});

test('a broken file is listed as a problem the user can exclude', async ({ app, sandbox, shell }, testInfo) => {
  const root = path.join(sandbox.dir, 'with-problem');
  copyPhotos(root, 'ants', 3);
  copyPhotos(root, 'bees', 3);
  fs.writeFileSync(path.join(root, 'ants', 'broken.jpg'), 'this is not a photo');
  const folders = new FoldersPage(app);
  await folders.scan(root);
  await expect(folders.classCards()).toHaveCount(2);
  const row = folders.problems().filter({ hasText: 'broken.jpg' });
  await expect(row).toHaveCount(1);
  if (shell === 'browser') {
    // A web page cannot open the file manager: the row offers the file's full path to copy instead.
    await expect(row.getByRole('button', { name: 'Show in folder' })).toHaveCount(0);
    await expect(row.getByTestId('copy-path')).toHaveAttribute('title', path.join(root, 'ants', 'broken.jpg'));
  } else {
    await expect(row.getByRole('button', { name: 'Show in folder' })).toBeVisible();
  }
  await row.getByRole('button', { name: 'Exclude' }).click();
  await expect(row.getByRole('button', { name: 'Undo exclude' })).toBeVisible();
  await expect(folders.summary()).toContainText('1 excluded by you');
  await new WizardPage(app, testInfo).screenshot('folders-problem');
});

test('with one class, Next stays disabled and says why', async ({ app, sandbox }) => {
  const root = path.join(sandbox.dir, 'one-class');
  copyPhotos(root, 'ants', 3);
  const folders = new FoldersPage(app);
  const wizard = new WizardPage(app, test.info());
  await folders.scan(root);
  await expect(folders.summary()).toContainText('in 1 class');
  await expect(wizard.nextButton()).toBeDisabled();
  await expect(wizard.nextReason()).toContainText('at least two sub-folders');
  // The keyboard shortcut for Next obeys the same rule.
  await app.keyboard.press('Alt+ArrowRight');
  await wizard.expectStep('Folders');
});

test('the theme follows the system, and the user can pick light or dark', async ({ app }) => {
  const background = () => app.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await app.emulateMedia({ colorScheme: 'light' });
  const light = await background();
  await app.emulateMedia({ colorScheme: 'dark' });
  const systemDark = await background();
  expect(systemDark).not.toBe(light);
  await app.getByTestId('theme').selectOption('light');
  expect(await background()).toBe(light); // the choice beats the system
  await app.getByTestId('theme').selectOption('dark');
  await app.emulateMedia({ colorScheme: 'light' });
  expect(await background()).toBe(systemDark);
  await app.getByTestId('theme').selectOption('system');
});

test('a folder that does not exist is named in the message', async ({ app, sandbox }) => {
  const missing = path.join(sandbox.dir, 'no-such-folder');
  await app.getByTestId('folder-path').fill(missing);
  await app.getByTestId('folder-path').press('Enter');
  await expect(app.getByTestId('scan-error')).toContainText(missing);
});

test('browser mode: the folder browser walks the server\'s folders and scans the chosen one', async ({ app, shell }) => {
  test.skip(shell !== 'browser', 'The desktop app uses the native folder dialog instead.');
  const folders = new FoldersPage(app);
  await folders.path().fill(path.dirname(HYMENOPTERA));
  await app.getByRole('button', { name: 'Browse…' }).click();
  const browser = app.getByTestId('folder-browser');
  await browser.getByRole('button', { name: `📁 ${path.basename(HYMENOPTERA)}` }).click();
  await expect(browser).toContainText(HYMENOPTERA);
  await browser.getByRole('button', { name: 'Use this folder' }).click();
  await expect(folders.summary()).toContainText(/\d+ photos in 2 classes/, { timeout: 120_000 });
  await expect(folders.path()).toHaveValue(HYMENOPTERA);
});
