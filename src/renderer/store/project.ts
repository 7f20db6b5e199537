// The project on disk: where the photos are, the user's edits, the chosen rate, the runs and the
// step. Without an open project the wizard still works; the header says the work is not saved.
import type { FileMove, Project, TrainResult } from '../../shared/types';
import { messageOf } from '../lib/errors';
import type { Slice, StoreDeps } from './types';
import { isStepId } from './wizard';

export interface ProjectSlice {
  project: Project | null;
  projectError: string | null;
  recent: { dir: string; name: string; updatedAt: string }[];
  /** The run to review and export when it was restored from a project rather than trained now. */
  restoredRunDir: string | null;
  loadRecent(): Promise<void>;
  openProject(dir: string): Promise<void>;
  /** Saves soon (coalescing bursts of edits); does nothing without an open project. */
  saveProject(): void;
  recordRun(result: TrainResult): void;
  moveFile(file: string, label: string): Promise<FileMove | null>;
  undoMove(id: string): Promise<void>;
}

const SAVE_DELAY_MS = 400;

export const createProjectSlice =
  ({ api }: StoreDeps): Slice<ProjectSlice> =>
  (set, get) => {
    let timer: ReturnType<typeof setTimeout> | null = null;

    const snapshot = (): Project | null => {
      const s = get();
      if (!s.project) return null;
      return {
        ...s.project,
        root: s.summary?.root ?? s.project.root,
        edits: s.edits,
        lr: s.lr.chosen,
        backbone: s.backbone,
        step: s.step,
      };
    };

    const writeNow = async () => {
      const project = snapshot();
      if (!project) return;
      try {
        const saved = await api.call('project/save', { project });
        set((s) => ({ project: s.project?.dir === saved.dir ? { ...saved, step: s.step } : s.project, projectError: null }));
      } catch (error) {
        set({ projectError: messageOf(error) });
      }
    };

    return {
      project: null,
      projectError: null,
      recent: [],
      restoredRunDir: null,
      async loadRecent() {
        try {
          set({ recent: await api.call('project/recent', {}) });
        } catch {
          set({ recent: [] }); // no list is not worth a message
        }
      },
      async openProject(dir) {
        try {
          const project = await api.call('project/open', { dir: dir.trim() });
          const lastDone = [...project.runs].reverse().find((r) => r.status === 'done');
          set({ project, projectError: null, restoredRunDir: lastDone?.runDir ?? null, edits: project.edits, backbone: project.backbone });
          if (project.root) {
            await get().scanFolder(project.root);
            // Scanning a new folder forgets edits, rate and run; these belong to it, so they come back.
            set({ edits: project.edits, restoredRunDir: lastDone?.runDir ?? null });
            if (project.lr) set((s) => ({ lr: { ...s.lr, chosen: project.lr } }));
          }
          // The wizard moves back to the first step that is not ready if this one cannot be reached yet.
          if (isStepId(project.step)) get().goTo(project.step);
          void get().loadRecent();
        } catch (error) {
          set({ projectError: messageOf(error) });
        }
      },
      saveProject() {
        if (!get().project) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = null;
          void writeNow();
        }, SAVE_DELAY_MS);
      },
      recordRun(result) {
        set((s) =>
          s.project
            ? {
                project: {
                  ...s.project,
                  runs: [
                    ...s.project.runs.filter((r) => r.runId !== result.runId),
                    { runId: result.runId, runDir: result.runDir, createdAt: new Date().toISOString(), backbone: result.backbone, accuracy: result.valid.accuracy, status: 'done' },
                  ],
                },
              }
            : {},
        );
        get().saveProject();
      },
      async moveFile(file, label) {
        const project = get().project;
        if (!project) return null;
        try {
          const { project: saved, move } = await api.call('project/move-file', { dir: project.dir, file, label });
          set({ project: saved });
          return move;
        } catch (error) {
          get().addNotice({ level: 'error', message: messageOf(error) });
          return null;
        }
      },
      async undoMove(id) {
        const project = get().project;
        if (!project) return;
        try {
          const { project: saved } = await api.call('project/undo-move', { dir: project.dir, id });
          set({ project: saved });
          if (get().summary) await get().scanFolder(get().summary!.root);
        } catch (error) {
          get().addNotice({ level: 'error', message: messageOf(error) });
        }
      },
    };
  };
