// What every step shares: the Next button with its reason, the step heading, and screenshots.
import fs from 'node:fs';
import path from 'node:path';
import { expect, type Page, type TestInfo } from '@playwright/test';
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
    await this.page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
    await this.info.attach(name, { path: file, contentType: 'image/png' });
  }
}
