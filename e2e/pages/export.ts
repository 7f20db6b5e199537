import { expect, type Page } from '@playwright/test';
import type { ExportFormat } from '../../src/shared/types';
import { waitForOutcome } from './wizard';

export class ExportPage {
  constructor(readonly page: Page) {}

  /** The list of formats, one choice per kind of app (websites, Node and Python, Android, iPhone and iPad). */
  readonly formats = () => this.page.getByTestId('export-format');
  readonly format = (format: ExportFormat) => this.page.getByTestId(`export-format-${format}`);
  readonly out = () => this.page.getByTestId('export-out');
  readonly start = () => this.page.getByTestId('export-start');
  readonly result = () => this.page.getByTestId('export-result');

  async exportTo(format: ExportFormat, dir: string) {
    await this.format(format).click();
    await expect(this.format(format).getByRole('radio')).toBeChecked();
    await this.out().fill(dir);
    await this.start().click();
    // The result of an earlier export is cleared as soon as a new one starts.
    await waitForOutcome(this.result(), this.page.getByTestId('export-error'), 5 * 60_000);
    await expect(this.result()).toContainText(dir);
  }
}
