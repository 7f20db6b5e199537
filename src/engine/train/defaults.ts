// The training recipe Foldwise uses unless told otherwise. Chosen by bench/recipe.ts: the best mean
// VALIDATION accuracy over all three datasets in ../shared/datasets (never their test photos), among
// the recipes that keep the time budget on 2 cores (cold train < 60 s, warm retrain < 5 s).
// A 128-unit hidden layer scored 0.4 points higher but trains ~10x slower on wasm (33 s warm on
// dogs_vs_cats), and two augmented views per photo cost ~20 s of extraction on a cold cache.
import { DEFAULT_EPOCHS } from '../../shared/defaults';
import type { HeadSpec } from './head';

export const TRAIN_DEFAULTS = {
  head: { hidden: 0, dropout: 0.2 } satisfies Omit<HeadSpec, 'inputDim' | 'classes'>,
  /** Which of the LR finder's suggestions 'auto' takes. */
  lrSuggestion: 'minimum' as 'valley' | 'steep' | 'minimum',
  epochs: DEFAULT_EPOCHS,
  batchSize: 64,
  weightDecay: 0.01,
  labelSmoothing: 0,
  /** Fine-tuning: epochs over the photos with the backbone unfrozen. */
  fineTuneEpochs: 2,
  fineTuneBatchSize: 16,
};
