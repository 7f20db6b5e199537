import { expect, type Page } from '@playwright/test';
import { waitForOutcome } from './wizard';

export class LearningRatePage {
  constructor(readonly page: Page) {}

  readonly chart = () => this.page.getByTestId('lr-chart');
  readonly suggestion = () => this.page.getByTestId('lr-suggestion');
  readonly chosen = () => this.page.getByTestId('lr-chosen');
  /** The sentence shown when the chosen rate is far from what the curve supports. */
  readonly warning = () => this.page.getByTestId('lr-warning');

  /** The finder starts by itself on entering the step; this waits for its curve. */
  async waitForCurve() {
    await waitForOutcome(this.suggestion(), this.page.getByTestId('lr-error'), 6 * 60_000);
    await expect(this.chart().locator('.recharts-line path').first()).toBeVisible();
  }

  /** Rate shown in the suggestion pill, as a number. */
  async suggestedRate(): Promise<number> {
    const text = (await this.suggestion().textContent()) ?? '';
    const match = /Suggested:\s*([\d.e+-]+)/.exec(text);
    if (!match) throw new Error(`The suggestion reads "${text}", with no rate in it.`);
    return Number(match[1]);
  }

  async chosenRate(): Promise<number> {
    const text = (await this.chosen().textContent()) ?? '';
    return Number(/use\s*([\d.e+-]+)/.exec(text)?.[1]);
  }

  /** Clicks the plot at a fraction of its width (0 = smallest rate, 1 = largest). */
  async clickCurveAt(fraction: number) {
    const plot = this.chart().locator('.recharts-cartesian-grid');
    const box = await plot.boundingBox();
    if (!box) throw new Error('The learning-rate chart has no plot area.');
    await this.page.mouse.move(box.x + box.width * fraction, box.y + box.height / 2);
    await this.page.mouse.click(box.x + box.width * fraction, box.y + box.height / 2);
  }
}
