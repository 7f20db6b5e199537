// Which step is showing, and forgetting results that a change upstream made stale.
import { initialExport } from './export';
import { initialLr } from './lr';
import { initialReview } from './review';
import { initialTraining } from './train';
import type { Slice } from './types';

export const STEP_IDS = ['folders', 'learning-rate', 'train', 'review', 'export'] as const;
export type StepId = (typeof STEP_IDS)[number];

export function isStepId(value: string): value is StepId {
  return (STEP_IDS as readonly string[]).includes(value);
}

/** The stage from which results are forgotten: a new folder forgets the rate, a new run forgets the review. */
export type Stage = 'lr' | 'train' | 'review';

export interface WizardSlice {
  step: StepId;
  goTo(step: StepId): void;
  invalidateFrom(stage: Stage): void;
}

export const createWizardSlice = (): Slice<WizardSlice> => (set, get) => ({
  step: 'folders',
  goTo(step) {
    if (step === get().step) return;
    set({ step });
    get().saveProject();
  },
  invalidateFrom(stage) {
    const running = get().training.status === 'running' || get().training.status === 'paused';
    if (stage === 'lr') get().cancelLearningRate();
    if (stage === 'lr' || stage === 'train') {
      if (running) get().cancelTraining();
      set({ ...(stage === 'lr' ? initialLr : {}), ...initialTraining, restoredRunDir: null });
    }
    set({ ...initialReview, ...initialExport });
  },
});
