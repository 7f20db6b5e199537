// Where the work is saved. Without a project folder the wizard still works, and says it is not saved.
import { useState } from 'react';
import { getApi } from '../ipc';
import { useApp } from '../store';

export function ProjectBar() {
  const project = useApp((s) => s.project);
  const error = useApp((s) => s.projectError);
  const openProject = useApp((s) => s.openProject);
  const [editing, setEditing] = useState(false);
  const [dir, setDir] = useState('');

  const choose = async () => {
    const picked = await getApi().pickFolder();
    if (picked) void openProject(picked);
    else setEditing(true);
  };

  if (editing) {
    return (
      <form
        className="project-bar row"
        onSubmit={(e) => {
          e.preventDefault();
          if (dir.trim()) void openProject(dir.trim()).then(() => setEditing(false));
        }}
      >
        <input className="mono" autoFocus placeholder="/home/you/foldwise-projects/my-project (an existing folder)" value={dir} onChange={(e) => setDir(e.target.value)} aria-label="Project folder" />
        <button type="submit" className="small">
          Open
        </button>
        <button type="button" className="small" onClick={() => setEditing(false)}>
          Cancel
        </button>
        {error && <span className="error-text small">{error}</span>}
      </form>
    );
  }
  return (
    <div className="project-bar row">
      {project ? (
        <span title={project.dir}>
          Project <strong>{project.name}</strong> <span className="muted small">saved</span>
        </span>
      ) : (
        <span className="muted">Not saved</span>
      )}
      <button type="button" className="small" onClick={() => void choose()}>
        {project ? 'Open another…' : 'Save to a project folder…'}
      </button>
      {error && !editing && <span className="error-text small">{error}</span>}
    </div>
  );
}
