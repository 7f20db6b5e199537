// The whole wizard on real photos (hymenoptera: ants vs bees) with the real engine: scan, find the
// learning rate, train 3 epochs, open a confusion-matrix cell, show a heatmap, export TF.js, ONNX and Core ML.
import fs from 'node:fs';
import path from 'node:path';
import { expect, HYMENOPTERA, test } from './fixtures';
import { ExportPage } from './pages/export';
import { FoldersPage } from './pages/folders';
import { LearningRatePage } from './pages/learning-rate';
import { ReviewPage } from './pages/review';
import { TrainPage } from './pages/train';
import { waitForOutcome, WizardPage } from './pages/wizard';

test('a person trains, reviews and exports an ants-vs-bees classifier', async ({ app, sandbox, shell }, testInfo) => {
  test.skip(!fs.existsSync(HYMENOPTERA), `The shared photos are missing at ${HYMENOPTERA}; set FOLDWISE_SHARED.`);
  const wizard = new WizardPage(app, testInfo);
  const pageErrors: string[] = [];
  app.on('pageerror', (e) => pageErrors.push(e.message));
  app.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) pageErrors.push(m.text());
  });

  await test.step('Folders: Next waits for a scan; the scan shows two classes with thumbnails', async () => {
    await wizard.expectStep('Folders');
    await expect(wizard.nextButton()).toBeDisabled();
    await expect(wizard.nextReason()).toContainText('Choose a folder');
    await wizard.screenshot('01-folders-empty');

    const folders = new FoldersPage(app);
    await folders.scan(HYMENOPTERA);
    await expect(folders.summary()).toContainText(/\d+ photos in 2 classes/);
    await expect(folders.classCards()).toHaveCount(2);
    for (const name of ['ants', 'bees']) {
      await expect(folders.card(name)).toContainText(/\d+ photos/);
      await expect.poll(() => folders.loadedThumbnails(name), { message: `thumbnails of ${name} load` }).toBeGreaterThan(0);
    }
    await expect(wizard.nextReason()).toHaveText('');
    await wizard.screenshot('02-folders-scanned');
    await wizard.next('Learning rate');
  });

  const lrPage = new LearningRatePage(app);
  await test.step('Learning rate: the finder runs by itself; clicking the curve picks another rate', async () => {
    await expect(wizard.nextButton()).toBeDisabled();
    // The default starting model: both MobileNets side by side.
    await expect(app.getByLabel('Starting model')).toHaveValue('mobilenet_pair');
    // What it is good for and what it costs, in a sentence under the picker.
    await expect(app.getByTestId('backbone-description')).toContainText('most accurate');
    await lrPage.waitForCurve();
    const suggested = await lrPage.suggestedRate();
    expect(suggested).toBeGreaterThan(0);
    expect(await lrPage.chosenRate()).toBeCloseTo(suggested, 10);
    await wizard.screenshot('03-learning-rate');

    // A click far left on the log axis picks a much smaller rate; "Back to the suggestion" undoes it.
    await lrPage.clickCurveAt(0.15);
    await expect.poll(() => lrPage.chosenRate()).toBeLessThan(suggested / 5);
    // Far left the curve is still flat: the app says gently what that rate will do.
    await expect(lrPage.warning()).toContainText('This rate is very small');
    await wizard.screenshot('04-learning-rate-picked');
    await app.getByRole('button', { name: 'Back to the suggestion' }).click();
    await expect.poll(() => lrPage.chosenRate()).toBeCloseTo(suggested, 10);
    await expect(lrPage.warning()).toHaveCount(0);

    // Far right, past where the loss shoots up, the warning says the opposite.
    await lrPage.clickCurveAt(0.99);
    await expect.poll(() => lrPage.chosenRate()).toBeGreaterThan(suggested * 5);
    await expect(lrPage.warning()).toContainText('This rate is very large');
    await app.getByRole('button', { name: 'Back to the suggestion' }).click();
    await expect.poll(() => lrPage.chosenRate()).toBeCloseTo(suggested, 10);

    // Keyboard: focus the chart, walk along the curve from its smallest rate, press Enter.
    await lrPage.chart().locator('.recharts-surface').focus();
    for (let i = 0; i < 3; i++) await app.keyboard.press('ArrowRight');
    await app.keyboard.press('Enter');
    await expect.poll(() => lrPage.chosenRate()).toBeLessThan(suggested / 100);
    await app.getByRole('button', { name: 'Back to the suggestion' }).click();
    await expect.poll(() => lrPage.chosenRate()).toBeCloseTo(suggested, 10);
    await wizard.next('Train');
  });

  const train = new TrainPage(app);
  await test.step('Train: 3 epochs with live charts, an epoch row each, and a done message', async () => {
    await expect(train.badge()).toHaveText(/GPU|CPU|WASM/);
    // One short sentence beside the badge; the engine's reasons wait behind "Why?".
    await expect(app.getByTestId('backend-sentence')).toHaveText(/^(Graphics card|CPU)[^.]*\.$/);
    const why = app.locator('.backend-why');
    if ((await why.count()) > 0) {
      await why.locator('summary').click();
      const reasons = await why.locator('li').allTextContents();
      const saysNodeMissing = reasons.filter((r) => /(TensorFlow for Node|tfjs-node)\b.*not installed/.test(r));
      expect(saysNodeMissing.length, `the missing TensorFlow for Node, said at most once: ${saysNodeMissing.join(' | ')}`).toBeLessThanOrEqual(1);
      await why.locator('summary').click();
    }
    // Three fine-tuning choices. Two starting models side by side have no last layers of their own, so
    // that choice is off and says why, and automatic means none (the engine tests time it on one model).
    await expect(train.fineTune('top')).toBeDisabled();
    await expect(train.fineTune('off')).toBeChecked();
    await expect(app.getByText('needs a single starting model')).toBeVisible();
    await wizard.screenshot('05-train-ready');
    // Long tasks on the page's main thread while training streams batches and epochs.
    await app.evaluate(() => {
      const w = window as unknown as { longTasks: number[] };
      w.longTasks = [];
      new PerformanceObserver((list) => list.getEntries().forEach((e) => w.longTasks.push(e.duration))).observe({ type: 'longtask' });
    });
    // "No" is one click away, for a quick run: this test checks the head's epochs and charts.
    await train.train(3, 'off');
    await expect(train.epochRows().first()).toBeVisible({ timeout: 6 * 60_000 });
    await wizard.screenshot('06-train-running');
    await train.waitUntilDone();
    await expect(train.epochRows()).toHaveCount(3);
    const longTasks = await app.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
    const longest = Math.max(0, ...longTasks);
    console.log(`UI long tasks during training: ${longTasks.length}, longest ${longest.toFixed(0)} ms`);
    // The goal is under 100 ms (batches are drawn once a frame, charts as background work; 55 ms measured).
    // The 2 cores are shared with the engine training next to it: the margin is for the scheduler.
    expect(longest, 'the longest task on the page while training, in ms').toBeLessThan(150);
    // Ants vs bees from an ImageNet backbone: anything a person would accept is well above chance.
    expect(await train.statedAccuracy()).toBeGreaterThan(0.75);
    await wizard.screenshot('07-train-done');
    // Review can be opened now, but it is not ticked as done before the user has looked at it.
    await expect(app.getByTestId('step-review')).toBeEnabled();
    await expect(app.getByTestId('step-review')).not.toContainText('✓');
    await wizard.next('Review');
  });

  await test.step('Review: a confusion-matrix cell opens its photos, and a heatmap shows where the model looked', async () => {
    const review = new ReviewPage(app);
    await review.waitForMatrix();
    await expect(review.cells()).toHaveCount(4);
    const counts = await review.cellCounts();
    const validation = counts.reduce((a, b) => a + b, 0);
    expect(validation).toBeGreaterThan(100);
    await wizard.screenshot('08-review');

    const { cell, count } = await review.mostInterestingCell(2);
    await cell.click();
    await expect(review.openCell()).toBeVisible();
    const opened = review.openCell().getByTestId('mistake-tile');
    await expect(opened).toHaveCount(Math.min(count, 60));

    const tile = opened.first();
    await tile.getByTestId('heatmap-toggle').click();
    const heatmap = tile.getByTestId('heatmap-image');
    await waitForOutcome(heatmap, tile.getByTestId('heatmap-error'), 3 * 60_000);
    await expect(tile.getByTestId('heatmap-toggle')).toHaveAttribute('aria-pressed', 'true');
    expect(await heatmap.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    // The legend names the answer the heatmap explains: the model's answer on this tile.
    const said = (await tile.locator('.tile-verdict strong').nth(1).textContent())!.trim();
    await expect(tile.getByTestId('heatmap-legend')).toContainText(`where the model looked to say “${said}”`);
    await tile.scrollIntoViewIfNeeded();
    await wizard.screenshot('09-review-cell-heatmap');
    await wizard.next('Export');
    await expect(app.getByTestId('step-review')).toContainText('✓');
  });

  await test.step('Export: TF.js and ONNX, each verified against the app on the checking photos; Core ML checked by Apple\'s validator', async () => {
    const exporter = new ExportPage(app);
    // Each format says who it is for, in the user's words.
    for (const audience of ['Websites', 'Node and Python', 'Android', 'iPhone and iPad']) await expect(exporter.formats()).toContainText(audience);
    const tfjsDir = path.join(sandbox.dir, 'out', 'ants-bees-tfjs');
    await exporter.exportTo('tfjs', tfjsDir);
    await expect(exporter.result()).toContainText(/100% agreement on \d+ checking photos/);
    expect(fs.existsSync(path.join(tfjsDir, 'model.json'))).toBe(true);
    // Browser mode cannot open the file manager: the folder's path is there to copy instead.
    if (shell === 'browser') {
      await expect(exporter.result().getByRole('button', { name: 'Open the folder' })).toHaveCount(0);
      await expect(exporter.result().getByTestId('copy-path')).toHaveAttribute('title', tfjsDir);
    } else {
      await expect(exporter.result().getByRole('button', { name: 'Open the folder' })).toBeVisible();
    }
    await wizard.screenshot('10-export-tfjs');

    const onnxDir = path.join(sandbox.dir, 'out', 'ants-bees-onnx');
    await exporter.exportTo('onnx', onnxDir);
    await expect(exporter.result()).toContainText(/100% agreement on \d+ checking photos/);
    expect(fs.readdirSync(onnxDir).some((f) => f.endsWith('.onnx'))).toBe(true);
    await wizard.screenshot('11-export-onnx');

    // Core ML: nothing here runs it, so the step says what was checked (Apple's validator) and what was not.
    const coremlDir = path.join(sandbox.dir, 'out', 'ants-bees-coreml');
    await exporter.exportTo('coreml', coremlDir);
    await expect(exporter.result()).toContainText("Structure checked by Apple's validator; predictions not checked (needs a Mac).");
    await expect(exporter.result()).not.toContainText('agreement');
    expect(fs.existsSync(path.join(coremlDir, 'model.mlmodel'))).toBe(true);
    expect(fs.existsSync(path.join(coremlDir, 'samples', 'expected.json'))).toBe(true);
    await wizard.screenshot('12-export-coreml');
  });

  await test.step('Try it: a dropped photo gets a prediction and a heatmap', async () => {
    await app.getByTestId('try-it-toggle').click();
    const panel = app.getByTestId('try-it');
    const photo = fs.readdirSync(path.join(HYMENOPTERA, 'val', 'bees')).find((f) => f.endsWith('.jpg'))!;
    await panel.getByTestId('try-it-file').setInputFiles(path.join(HYMENOPTERA, 'val', 'bees', photo));
    await waitForOutcome(panel.getByTestId('try-it-result'), panel.getByRole('alert'), 3 * 60_000);
    await expect(panel.getByTestId('try-it-result')).toContainText(/^(ants|bees)\s*\d+%/);
    await expect(panel.locator('img.heatmap')).toBeVisible({ timeout: 2 * 60_000 });
    const answer = /^(ants|bees)/.exec((await panel.getByTestId('try-it-result').textContent()) ?? '')![1]!;
    await expect(panel.getByTestId('heatmap-legend')).toContainText(`where the model looked to say “${answer}”`);
    await wizard.screenshot('12-try-it');
  });

  expect(pageErrors, 'errors in the page (uncaught exceptions or CSP refusals)').toEqual([]);
});
