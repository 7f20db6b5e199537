// The training recipe Foldwise uses unless told otherwise. Chosen by validation accuracy across
// all three datasets in ../shared/datasets (see bench/accuracy.ts), not tuned to one of them.
import type { HeadSpec } from './head';

export const TRAIN_DEFAULTS = {
  head: { hidden: 0, dropout: 0.2 } satisfies Omit<HeadSpec, 'inputDim' | 'classes'>,
  /** Which of the LR finder's suggestions 'auto' takes. */
  lrSuggestion: 'valley' as 'valley' | 'steep' | 'minimum',
  epochs: 12,
  batchSize: 64,
  weightDecay: 0.01,
  labelSmoothing: 0,
  /** Fine-tuning: epochs over the photos with the backbone unfrozen. */
  fineTuneEpochs: 2,
  fineTuneBatchSize: 16,
};
