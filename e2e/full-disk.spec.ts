// Exporting onto a full disk from the app: the Export step shows the engine's own sentence (the
// folder, the space it needs, what to do), the disk is left as it was, and a roomy folder then works.
// The full disk is a 3 MB tmpfs, which needs root (CI has it); elsewhere the test says why it skips.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, HYMENOPTERA, test } from './fixtures';
import { ExportPage } from './pages/export';
import { FoldersPage } from './pages/folders';
import { LearningRatePage } from './pages/learning-rate';
import { ReviewPage } from './pages/review';
import { TrainPage } from './pages/train';
import { WizardPage } from './pages/wizard';

const notRoot = process.getuid?.() !== 0;

test('an export onto a full disk says which folder, how much space it needs and what to do', async ({ app, sandbox }, testInfo) => {
  test.skip(notRoot, 'The full disk is a small tmpfs, and mounting one needs root (CI runs as root).');
  test.skip(!fs.existsSync(HYMENOPTERA), `The shared photos are missing at ${HYMENOPTERA}; set FOLDWISE_SHARED.`);
  const disk = fs.mkdtempSync(path.join(os.tmpdir(), 'foldwise-e2e-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]);
  try {
    const free = Number(fs.statfsSync(disk).bavail) * Number(fs.statfsSync(disk).bsize);
    fs.writeFileSync(path.join(disk, 'other-files'), Buffer.alloc(free - 200_000)); // someone else's files fill it

    const photos = path.join(sandbox.dir, 'full-disk-photos');
    for (const label of ['ants', 'bees']) {
      fs.mkdirSync(path.join(photos, label), { recursive: true });
      for (const f of fs.readdirSync(path.join(HYMENOPTERA, 'train', label)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 10)) fs.copyFileSync(path.join(HYMENOPTERA, 'train', label, f), path.join(photos, label, f));
    }
    const wizard = new WizardPage(app, testInfo);
    const train = new TrainPage(app);
    await new FoldersPage(app).scan(photos);
    await wizard.next('Learning rate');
    await new LearningRatePage(app).waitForCurve();
    await wizard.next('Train');
    await train.train(2, 'off');
    await train.waitUntilDone();
    await wizard.next('Review');
    await new ReviewPage(app).waitForMatrix();
    await wizard.next('Export');

    const exporting = new ExportPage(app);
    const out = path.join(disk, 'exports', 'ants-bees');
    await exporting.format('onnx').click();
    await exporting.out().fill(out);
    await exporting.start().click();
    const error = app.getByTestId('export-error');
    await expect(error).toBeVisible({ timeout: 5 * 60_000 });
    await expect(error).toContainText('The export failed.');
    await expect(error).toContainText(new RegExp(`The disk holding ${out} has only \\d+ kB free: Foldwise needs about [\\d.]+ MB there\\. Free some space or choose another folder\\.`));
    await wizard.screenshot('export-full-disk');
    expect(fs.readdirSync(disk)).toEqual(['other-files']);

    // Choosing another folder, as the sentence says, works.
    await exporting.exportTo('onnx', path.join(sandbox.dir, 'out', 'full-disk-export'));
    await expect(error).toBeHidden();
  } finally {
    execFileSync('umount', [disk]);
    fs.rmdirSync(disk);
  }
});
