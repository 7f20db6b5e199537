import { expect, type Page } from '@playwright/test';
import { waitForOutcome } from './wizard';

export class ExportPage {
  constructor(readonly page: Page) {}

  readonly format = () => this.page.getByTestId('export-format');
  readonly out = () => this.page.getByTestId('export-out');
  readonly start = () => this.page.getByTestId('export-start');
  readonly result = () => this.page.getByTestId('export-result');

  async exportTo(format: 'tfjs' | 'onnx', dir: string) {
    await this.format().selectOption(format);
    await this.out().fill(dir);
    await this.start().click();
    // The result of an earlier export is cleared as soon as a new one starts.
    await waitForOutcome(this.result(), this.page.getByTestId('export-error'), 5 * 60_000);
    await expect(this.result()).toContainText(dir);
  }
}
