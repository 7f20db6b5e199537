// The store's shape: one object made of typed slices, each in its own file.
import type { StateCreator } from 'zustand';
import type { AppApi } from '../../shared/contract';
import type { FrameScheduler } from '../lib/frame';
import type { DatasetSlice } from './dataset';
import type { EngineSlice } from './engine';
import type { ExportSlice } from './export';
import type { LrSlice } from './lr';
import type { ProjectSlice } from './project';
import type { ReviewSlice } from './review';
import type { TrainSlice } from './train';
import type { TryItSlice } from './try-it';
import type { UiSlice } from './ui';
import type { WizardSlice } from './wizard';

export type All = EngineSlice & DatasetSlice & LrSlice & TrainSlice & ReviewSlice & ExportSlice & TryItSlice & WizardSlice & UiSlice & ProjectSlice;

export type Slice<S> = StateCreator<All, [], [], S>;

/** What slices need from outside: the engine, and how to wait for the next frame (faked in tests). */
export interface StoreDeps {
  api: AppApi;
  frame?: FrameScheduler;
  /** Uploads or resolves a dropped photo to a path the engine can read. */
  readablePath?(file: File): Promise<string>;
  now?(): number;
}

export type JobStatus = 'idle' | 'running' | 'done' | 'error' | 'cancelled';
