// One store made of typed slices, created once per window with the engine it talks to.
import { createContext, createElement, useContext, type ReactNode } from 'react';
import { createStore, useStore, type StoreApi } from 'zustand';
import type { Progress } from '../../shared/types';
import { createFrameBatcher } from '../lib/frame';
import { createDatasetSlice } from './dataset';
import { createEngineSlice } from './engine';
import { createExportSlice } from './export';
import { createLrSlice } from './lr';
import { createProjectSlice } from './project';
import { createReviewSlice } from './review';
import { createTrainSlice } from './train';
import { createTryItSlice } from './try-it';
import type { All, StoreDeps } from './types';
import { createUiSlice } from './ui';
import { createWizardSlice } from './wizard';

export type { All } from './types';

export type AppStore = StoreApi<All> & { disconnect(): void };

export function createAppStore(deps: StoreDeps): AppStore {
  const store = createStore<All>()((...a) => ({
    ...createEngineSlice(deps)(...a),
    ...createDatasetSlice(deps)(...a),
    ...createLrSlice(deps)(...a),
    ...createTrainSlice(deps)(...a),
    ...createReviewSlice(deps)(...a),
    ...createExportSlice(deps)(...a),
    ...createTryItSlice(deps)(...a),
    ...createWizardSlice()(...a),
    ...createUiSlice()(...a),
    ...createProjectSlice(deps)(...a),
  }));

  // Engine events feed the store here, in one place.
  const { api } = deps;
  // Progress can arrive per batch too: keep the latest per job and apply it once a frame.
  const pushProgress = createFrameBatcher<Progress>((items) => {
    const latest: Record<string, Progress> = {};
    for (const p of items) latest[p.job] = p;
    store.setState((s) => ({ progress: { ...s.progress, ...latest } }));
  }, deps.frame);
  const offs = [
    api.on('train/batch', (b) => store.getState().receiveBatch(b)),
    api.on('train/epoch', (e) => store.getState().receiveEpoch(e.job, e.metrics)),
    api.on('engine/notice', (n) => store.getState().addNotice(n)),
    api.on('job/progress', pushProgress),
    // File > Open Folder… in the desktop menu: as if the folder had been picked on the Folders step.
    api.on('app/open-folder', ({ root }) => {
      store.getState().goTo('folders');
      void store.getState().scanFolder(root);
    }),
  ];
  return Object.assign(store, { disconnect: () => offs.forEach((off) => off()) });
}

const StoreContext = createContext<AppStore | null>(null);

export function StoreProvider({ store, children }: { store: AppStore; children: ReactNode }) {
  return createElement(StoreContext.Provider, { value: store }, children);
}

/** Reads one narrow piece of the store; components re-render only when that piece changes. */
export function useApp<T>(selector: (state: All) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useApp must be used inside <StoreProvider>.');
  return useStore(store, selector);
}

/** The store itself, for event handlers that read state at the moment they run. */
export function useAppStore(): AppStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useAppStore must be used inside <StoreProvider>.');
  return store;
}
