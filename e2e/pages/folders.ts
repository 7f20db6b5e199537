import { type Page } from '@playwright/test';
import { waitForOutcome } from './wizard';

export class FoldersPage {
  constructor(readonly page: Page) {}

  readonly path = () => this.page.getByTestId('folder-path');
  readonly summary = () => this.page.getByTestId('scan-summary');
  readonly classCards = () => this.page.getByTestId('class-card');
  readonly problems = () => this.page.getByTestId('problem-row');

  /** Types the folder and presses Enter, as a person would; waits for the summary. */
  async scan(folder: string) {
    await this.path().fill(folder);
    await this.path().press('Enter');
    await waitForOutcome(this.summary(), this.page.getByTestId('scan-error'), 120_000);
  }

  card(name: string) {
    return this.classCards().filter({ has: this.page.getByRole('heading', { name, exact: true }) });
  }

  /** Thumbnails on a card that actually loaded (not broken images). */
  async loadedThumbnails(name: string): Promise<number> {
    return this.card(name)
      .locator('img.thumb')
      .evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).length);
  }
}
