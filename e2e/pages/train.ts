import { type Page } from '@playwright/test';
import { waitForOutcome } from './wizard';

export class TrainPage {
  constructor(readonly page: Page) {}

  readonly start = () => this.page.getByTestId('train-start');
  readonly epochs = () => this.page.getByTestId('train-epochs');
  readonly epochRows = () => this.page.getByTestId('epoch-row');
  readonly done = () => this.page.getByTestId('train-done');
  readonly badge = () => this.page.getByTestId('backend-badge').first();
  /** The fine-tuning choices: no, the top of the backbone (recommended, the default), all of it. */
  readonly fineTune = (layers: 'off' | 'top' | 'whole') => this.page.getByTestId(`fine-tune-${layers}`);
  /** The engine's cost sentence under a fine-tuning choice. */
  readonly fineTuneEstimate = (layers: 'top' | 'whole') => this.page.getByTestId(`fine-tune-estimate-${layers}`);

  /** Trains `epochs` epochs; `fineTune` picks a fine-tuning choice first (left alone: the default). */
  async train(epochs: number, fineTune?: 'off' | 'top' | 'whole') {
    if (fineTune) await this.fineTune(fineTune).check();
    await this.epochs().fill(String(epochs));
    await this.start().click();
  }

  async waitUntilDone() {
    await waitForOutcome(this.done(), this.page.getByTestId('train-error'), 8 * 60_000);
  }

  /** The validation accuracy the done message states, as a fraction. */
  async statedAccuracy(): Promise<number> {
    const text = (await this.done().textContent()) ?? '';
    const match = /got\s+([\d.]+)%/.exec(text);
    if (!match) throw new Error(`The done message reads "${text}", with no accuracy in it.`);
    return Number(match[1]) / 100;
  }
}
