// The training recipe Foldwise uses unless told otherwise. Chosen by bench/recipe.ts: the best mean
// VALIDATION accuracy over all three datasets in ../shared/datasets (never their test photos), among
// the recipes that keep the time budget on 2 cores (cold train < 60 s, warm retrain < 5 s).
// Stage 1 (`bench/recipe.ts heads`): a 128-unit hidden layer scored ~0.5 points higher but trains
// ~2.6x slower than the linear head on wasm (over the warm budget), and two augmented views per photo
// gained ~0.1 points for ~15 s more extraction on a cold cache. Stage 2 (`bench/recipe.ts linear`):
// the LR finder's valley, 30 epochs, weight decay 0.01 and no label smoothing came first (0.886).
// Differences under ~1.5 points are within seed noise (hymenoptera has 49 validation photos).
// On held-out re-splits (bench/holdout.ts) this recipe is level with Teachable Machine's on the
// two-class sets and 2.5 points better on flowers5; see docs/BENCHMARKS.md for what else was tried.
import { DEFAULT_EPOCHS } from '../../shared/defaults';
import type { HeadSpec } from './head';

export const TRAIN_DEFAULTS = {
  head: { hidden: 0, dropout: 0.2 } satisfies Omit<HeadSpec, 'inputDim' | 'classes'>,
  /** Which of the LR finder's suggestions 'auto' takes. */
  lrSuggestion: 'valley' as 'valley' | 'steep' | 'minimum',
  epochs: DEFAULT_EPOCHS,
  /**
   * Head training's length when no epochs are given (schedule.ts headEpochsFor): 30 epochs, but at most
   * 1500 updates. Chosen by bench/schedule.ts on validation photos (2 seeds): it changes nothing up to
   * ~3,200 training photos (dogs_vs_cats, flowers5 train as before); on the 12k-photo, 151-class folder
   * (7,744 training photos there) 12 epochs scored 0.792 real-class accuracy against 0.795 for 30
   * (within noise; 1000 updates 0.784, 500 0.769) and a lower validation loss, in a fifth of the time.
   */
  headLength: { epochs: DEFAULT_EPOCHS, batchSize: 64, maxUpdates: 1500, minEpochs: 5 },
  batchSize: 64,
  weightDecay: 0.01,
  labelSmoothing: 0,
  /** Fine-tuning: epochs over the photos with the backbone unfrozen. */
  fineTuneEpochs: 2,
  fineTuneBatchSize: 16,
  /** Top fine-tuning (steps/fine-tune-top.ts), from cached activations; chosen by bench/fine-tune-top.ts. */
  top: { epochs: 4, batchSize: 32, headLrFactor: 0.5, topLrFactor: 1 / 3, mirror: true, headEpochs: 2, batchNormMomentum: null as number | null, trainFrom: null as string | null, normsOnly: false },
};
