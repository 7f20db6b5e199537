// Fixing labels from the Review step: relabel one mistake, exclude another, retrain, and see the
// next model checked on one photo fewer. The user's files are never touched (no project is open).
import fs from 'node:fs';
import { expect, HYMENOPTERA, test } from './fixtures';
import { FoldersPage } from './pages/folders';
import { LearningRatePage } from './pages/learning-rate';
import { ReviewPage } from './pages/review';
import { TrainPage } from './pages/train';
import { WizardPage } from './pages/wizard';

test('relabel and exclude from the review, then retrain with the changes', async ({ app }, testInfo) => {
  test.skip(!fs.existsSync(HYMENOPTERA), `The shared photos are missing at ${HYMENOPTERA}; set FOLDWISE_SHARED.`);
  const wizard = new WizardPage(app, testInfo);
  const train = new TrainPage(app);
  const review = new ReviewPage(app);

  await new FoldersPage(app).scan(HYMENOPTERA);
  await wizard.next('Learning rate');
  await new LearningRatePage(app).waitForCurve();
  await wizard.next('Train');
  await train.train(2, 'off'); // review is what this tests: no fine-tuning, for speed
  await train.waitUntilDone();
  const checkedBefore = Number(/of the (\d+) checking photos/.exec((await train.done().textContent()) ?? '')?.[1]);
  expect(checkedBefore).toBeGreaterThan(100);
  await wizard.next('Review');
  await review.waitForMatrix();

  const mistakes = app.locator('section', { has: app.getByRole('heading', { name: 'Most confident mistakes' }) }).getByTestId('mistake-tile');
  await expect(mistakes.first()).toBeVisible();
  const first = mistakes.nth(0);
  const said = (await first.locator('.bad-text').textContent())!.trim();
  const was = (await first.locator('.tile-verdict strong').first().textContent())!.trim();
  await first.getByRole('combobox').selectOption(said);
  // The tile says what the label was and what it is now, next to the menu showing the new one.
  await expect(first.getByTestId('relabelled')).toContainText(`Was ${was} → now ${said}`);
  await expect(first).not.toContainText(`Labelled ${was}`);
  const second = mistakes.nth(1);
  await second.getByRole('button', { name: 'Exclude' }).click();
  await expect(second.getByRole('button', { name: 'Include again' })).toBeVisible();
  await expect(app.locator('.retrain-bar')).toContainText('You changed 2 photos');
  await wizard.screenshot('review-edits');

  await app.getByTestId('retrain').click();
  await wizard.expectStep('Train');
  await train.waitUntilDone();
  // The excluded photo was one of the checking photos: the new model is checked on one fewer.
  await expect(train.done()).toContainText(`of the ${checkedBefore - 1} checking photos`);
});
