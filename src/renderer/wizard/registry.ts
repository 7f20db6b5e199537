// The wizard is a list of steps, each with its screen and the reason it cannot be left yet.
import type { ComponentType } from 'react';
import type { All } from '../store/types';
import type { StepId } from '../store/wizard';
import { ExportStep } from './export/ExportStep';
import { canAdvance as exportReady, isDone as exportDone } from './export/rules';
import { FoldersStep } from './folders/FoldersStep';
import { canAdvance as foldersReady } from './folders/rules';
import { LearningRateStep } from './learning-rate/LearningRateStep';
import { canAdvance as lrReady } from './learning-rate/rules';
import { ReviewStep } from './review/ReviewStep';
import { canAdvance as reviewReady, isDone as reviewDone } from './review/rules';
import { TrainStep } from './train/TrainStep';
import { canAdvance as trainReady } from './train/rules';

export interface WizardStep {
  id: StepId;
  title: string;
  /** One line under the title: what this step is for, in plain words. */
  blurb: string;
  Component: ComponentType;
  /** true, or the sentence shown next to the disabled Next button. */
  canAdvance(state: All): true | string;
  /** Whether the sidebar ticks it; by default, when it can be left. Steps whose work is looking say otherwise. */
  isDone?(state: All): boolean;
}

export const STEPS: readonly WizardStep[] = [
  { id: 'folders', title: 'Folders', blurb: 'Show Foldwise your photos: one sub-folder for each kind of thing.', Component: FoldersStep, canAdvance: foldersReady },
  { id: 'learning-rate', title: 'Learning rate', blurb: 'Find how big a step the model should take while it learns.', Component: LearningRateStep, canAdvance: lrReady },
  { id: 'train', title: 'Train', blurb: 'Teach the model with your photos and watch it improve.', Component: TrainStep, canAdvance: trainReady },
  { id: 'review', title: 'Review', blurb: 'See what the model gets wrong, and why.', Component: ReviewStep, canAdvance: reviewReady, isDone: reviewDone },
  { id: 'export', title: 'Export', blurb: 'Save the model for a website, a program, or an Android or iPhone app.', Component: ExportStep, canAdvance: exportReady, isDone: exportDone },
];

/** Whether a step's work is done (its tick in the step list). */
export function isStepDone(state: All, step: WizardStep): boolean {
  return step.isDone ? step.isDone(state) : step.canAdvance(state) === true;
}

export function stepIndex(id: StepId): number {
  return STEPS.findIndex((s) => s.id === id);
}

/** A step can be opened when every step before it is done. */
export function canReach(state: All, id: StepId): boolean {
  return STEPS.slice(0, stepIndex(id)).every((s) => s.canAdvance(state) === true);
}

/** The furthest step that can be opened now, for when the current one stops being reachable. */
export function lastReachable(state: All): StepId {
  let last: StepId = STEPS[0]!.id;
  for (const step of STEPS) {
    if (!canReach(state, step.id)) break;
    last = step.id;
  }
  return last;
}
