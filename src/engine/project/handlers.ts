// Engine handlers for projects: open (or start) a project folder, save it atomically, list recent ones,
// and move a user's file to another class folder with undo.
import type { ServerHandlers } from '../../shared/rpc';
import type { Project } from '../../shared/types';
import { moveFile, undoMove } from './move';
import { recentProjects, rememberProject } from './recent';
import { openProject, saveProject } from './store';

type ProjectCalls = 'project/open' | 'project/save' | 'project/recent' | 'project/move-file' | 'project/undo-move';

// The recent list is a convenience: failing to update it must not fail the open or save itself.
const remember = (project: Project) =>
  rememberProject({ dir: project.dir, name: project.name, updatedAt: project.updatedAt }).catch(() => undefined);

export function projectHandlers(): Pick<Partial<ServerHandlers>, ProjectCalls> {
  return {
    'project/open': async ({ dir }) => {
      const project = await openProject(dir);
      await remember(project);
      return project;
    },
    'project/save': async ({ project }) => {
      const saved = await saveProject(project);
      await remember(saved);
      return saved;
    },
    'project/recent': async () => recentProjects(),
    'project/move-file': async ({ dir, file, label }) => moveFile(dir, file, label),
    'project/undo-move': async ({ dir, id }) => undoMove(dir, id),
  };
}
