// Files Foldwise could not use, each with what to do about it.
import type { DatasetProblem } from '../../../shared/types';
import { CopyPathButton } from '../../components/CopyPath';
import { getApi } from '../../ipc';
import { joinPath } from '../../lib/format';
import { useApp } from '../../store';

const isAbsolute = (p: string) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');

export function ProblemsList({ root, problems }: { root: string; problems: DatasetProblem[] }) {
  const excluded = useApp((s) => s.edits.exclude);
  const excludeFiles = useApp((s) => s.excludeFiles);
  const includeFile = useApp((s) => s.includeFile);
  const addNotice = useApp((s) => s.addNotice);
  if (problems.length === 0) return null;

  const fullPath = (file: string) => (isAbsolute(file) ? file : joinPath(root, file));
  // A web page cannot open the file manager: browser mode offers the file's full path to copy instead.
  const canOpenFolders = getApi().shell === 'electron';
  const show = async (file: string) => {
    const full = fullPath(file);
    const opened = await getApi().showInFolder(full);
    if (!opened) addNotice({ level: 'info', message: `This window cannot open your file manager. The file is at ${full}` });
  };

  return (
    <section aria-labelledby="problems-title">
      <h3 id="problems-title">
        {problems.length === 1 ? '1 file needs a look' : `${problems.length} files need a look`}
      </h3>
      <p className="hint">
        Foldwise skips these files while training. Exclude them to stop seeing them here, or {canOpenFolders ? 'open their folder' : 'copy their path'} to fix or remove them.
      </p>
      <ul className="problem-list">
        {problems.map((p) => {
          const isExcluded = excluded.includes(p.file);
          return (
            <li key={`${p.file}:${p.kind}`} className={`problem-row${isExcluded ? ' excluded' : ''}`} data-testid="problem-row">
              <span className={`tag tag-${p.kind}`}>{p.kind.replace(/-/g, ' ')}</span>
              <span className="mono truncate problem-file" title={p.file}>
                {p.file}
              </span>
              <span className="muted grow-2">{p.message}</span>
              {isExcluded ? (
                <button type="button" className="small" onClick={() => includeFile(p.file)}>
                  Undo exclude
                </button>
              ) : (
                <button type="button" className="small" onClick={() => excludeFiles([p.file])}>
                  Exclude
                </button>
              )}
              {canOpenFolders ? (
                <button type="button" className="small" onClick={() => void show(p.file)}>
                  Show in folder
                </button>
              ) : (
                <CopyPathButton path={fullPath(p.file)} />
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
