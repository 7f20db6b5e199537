// What every step shares: the Next button with its reason, the step heading, and screenshots.
import fs from 'node:fs';
import path from 'node:path';
import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';
import { SCREENSHOTS } from '../fixtures';

export class WizardPage {
  constructor(
    readonly page: Page,
    private readonly info: TestInfo,
  ) {}

  heading() {
    return this.page.getByRole('heading', { level: 1 });
  }

  async expectStep(title: string) {
    await expect(this.heading()).toHaveText(title);
  }

  nextButton() {
    return this.page.getByTestId('next-step');
  }

  nextReason() {
    return this.page.getByTestId('next-reason');
  }

  async next(expectedTitle: string) {
    await expect(this.nextButton()).toBeEnabled();
    await this.nextButton().click();
    await this.expectStep(expectedTitle);
  }

  /** Saves a full-page screenshot to e2e/screenshots/<project>-<name>.png and attaches it to the report. */
  async screenshot(name: string) {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, `${this.info.project.name}-${name}.png`);
    // From the top: a full-page capture of a scrolled page draws the sticky header mid-page.
    await this.page.evaluate(() => window.scrollTo(0, 0));
    await this.page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
    await this.info.attach(name, { path: file, contentType: 'image/png' });
  }
}

/**
 * Waits until `done` shows, or fails at once with the sentence the app shows in `failure`
 * (so a broken engine call fails the test in seconds, quoting what the user would read).
 */
export async function waitForOutcome(done: Locator, failure: Locator, timeout: number): Promise<void> {
  await expect(done.or(failure).first()).toBeVisible({ timeout });
  if (await failure.first().isVisible()) throw new Error(`The app shows an error instead: ${(await failure.first().innerText()).trim()}`);
}
