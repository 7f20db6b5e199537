import { type Locator, type Page } from '@playwright/test';
import { waitForOutcome } from './wizard';

export class ReviewPage {
  constructor(readonly page: Page) {}

  readonly matrix = () => this.page.getByTestId('confusion-matrix');
  readonly cells = () => this.page.getByTestId('confusion-cell');
  readonly openCell = () => this.page.getByTestId('open-cell');
  readonly tiles = () => this.page.getByTestId('mistake-tile');

  async waitForMatrix() {
    await waitForOutcome(this.matrix(), this.page.getByTestId('review-error'), 4 * 60_000);
  }

  async cellCounts(): Promise<number[]> {
    return (await this.cells().allTextContents()).map(Number);
  }

  /** The fullest off-diagonal cell (a mistake), or the fullest cell when there are no mistakes. */
  async mostInterestingCell(classes: number): Promise<{ cell: Locator; count: number }> {
    const counts = await this.cellCounts();
    let best = -1;
    for (let i = 0; i < counts.length; i++) {
      const offDiagonal = Math.floor(i / classes) !== i % classes;
      if (offDiagonal && counts[i]! > 0 && (best < 0 || counts[i]! > counts[best]!)) best = i;
    }
    if (best < 0) best = counts.indexOf(Math.max(...counts));
    return { cell: this.cells().nth(best), count: counts[best]! };
  }
}
