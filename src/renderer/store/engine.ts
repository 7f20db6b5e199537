// What the engine says about itself: backend badge, notices, progress of running jobs.
import type { BackboneInfo, BackendInfo, Notice, Progress } from '../../shared/types';
import { messageOf } from '../lib/errors';
import type { Slice, StoreDeps } from './types';

export interface ShownNotice extends Notice {
  id: number;
}

export interface EngineSlice {
  backend: BackendInfo | null;
  backendError: string | null;
  backbones: BackboneInfo[];
  notices: ShownNotice[];
  /** Latest progress per job id. */
  progress: Record<string, Progress>;
  connectionLost: boolean;
  loadEngineInfo(): Promise<void>;
  addNotice(notice: Notice): void;
  dismissNotice(id: number): void;
  setConnectionLost(): void;
}

let noticeId = 0;

export const createEngineSlice =
  ({ api }: StoreDeps): Slice<EngineSlice> =>
  (set) => ({
    backend: null,
    backendError: null,
    backbones: [],
    notices: [],
    progress: {},
    connectionLost: false,
    async loadEngineInfo() {
      const [info, list] = await Promise.allSettled([api.call('engine/info', {}), api.call('backbone/list', {})]);
      set({
        backend: info.status === 'fulfilled' ? info.value : null,
        backendError: info.status === 'rejected' ? messageOf(info.reason) : null,
        backbones: list.status === 'fulfilled' ? list.value : [],
      });
    },
    addNotice(notice) {
      set((s) => ({ notices: [...s.notices.slice(-4), { ...notice, id: ++noticeId }] }));
    },
    dismissNotice(id) {
      set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
    },
    setConnectionLost() {
      set({ connectionLost: true });
    },
  });
