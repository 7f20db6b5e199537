// One reviewed photo: the picture, what it is and what the model said, its heatmap, and fixes.
import { memo, useState } from 'react';
import type { FileMove, ReviewItem } from '../../../shared/types';
import { HeatmapLegend } from '../../components/HeatmapLegend';
import { Thumb } from '../../components/Thumb';
import { baseName, formatPercent } from '../../lib/format';
import { useApp } from '../../store';

function ImageTileView({ item, classes }: { item: ReviewItem; classes: string[] }) {
  const shown = useApp((s) => Boolean(s.heatmapShown[item.file]));
  const heatmap = useApp((s) => s.heatmaps[item.file]);
  const relabelled = useApp((s) => s.edits.relabel[item.file]);
  const excluded = useApp((s) => s.edits.exclude.includes(item.file));
  const hasProject = useApp((s) => s.project !== null);
  const toggleHeatmap = useApp((s) => s.toggleHeatmap);
  const relabelFile = useApp((s) => s.relabelFile);
  const excludeFiles = useApp((s) => s.excludeFiles);
  const includeFile = useApp((s) => s.includeFile);
  const moveFile = useApp((s) => s.moveFile);
  const undoMove = useApp((s) => s.undoMove);
  const [move, setMove] = useState<FileMove | null>(null);
  const right = item.actual === item.predicted;
  const label = relabelled ?? item.actual;
  const isRelabelled = relabelled !== undefined && relabelled !== item.actual;
  // The answer is coloured against the label the user sees now (green once they agree with the model).

  return (
    <figure className={`tile${right ? ' tile-right' : ' tile-wrong'}${excluded ? ' excluded' : ''}`} data-testid="mistake-tile">
      <div className="tile-image">
        <Thumb id={item.id} alt={`${item.file}, labelled ${item.actual}`} />
        {shown && heatmap?.status === 'done' && <img className="heatmap" src={`data:image/png;base64,${heatmap.png}`} alt={`where the model looked when it said ${item.predicted}`} data-testid="heatmap-image" />}
        {shown && heatmap?.status === 'loading' && <div className="tile-overlay">Drawing heatmap…</div>}
      </div>
      <figcaption>
        <div className="row">
          <span className="grow truncate mono small" title={item.file}>
            {baseName(item.file)}
          </span>
          <button type="button" className="small toggle" data-testid="heatmap-toggle" aria-pressed={shown} onClick={() => void toggleHeatmap(item)} title="Show where the model looked">
            {shown ? 'Hide heatmap' : 'Heatmap'}
          </button>
        </div>
        <div className="small tile-verdict">
          {isRelabelled ? (
            // The user changed the label: say what it was and what it is now, not the old label alone.
            <span data-testid="relabelled">
              Was <strong>{item.actual}</strong> → now <strong>{relabelled}</strong>
              {!move && (
                <>
                  {' ('}
                  <button type="button" className="link inline" onClick={() => relabelFile(item.file, item.actual, item.actual)}>
                    undo
                  </button>
                  {')'}
                </>
              )}
              .{' '}
            </span>
          ) : (
            <>
              Labelled <strong>{item.actual}</strong>;{' '}
            </>
          )}
          {isRelabelled ? 'The model says' : 'the model says'} <strong className={label === item.predicted ? 'good-text' : 'bad-text'}>{item.predicted}</strong> ({formatPercent(item.probability, 0)} sure)
        </div>
        {shown && heatmap?.status === 'done' && <HeatmapLegend label={heatmap.explains ?? item.predicted} />}
        {shown && heatmap?.status === 'error' && <div className="small error-text" data-testid="heatmap-error">{heatmap.error}</div>}
        <div className="row wrap tile-actions">
          <label className="small">
            Label{' '}
            <select value={label} onChange={(e) => relabelFile(item.file, e.target.value, item.actual)} aria-label={`Label for ${item.file}`}>
              {classes.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          {excluded ? (
            <button type="button" className="small" onClick={() => includeFile(item.file)}>
              Include again
            </button>
          ) : (
            <button type="button" className="small" onClick={() => excludeFiles([item.file])}>
              Exclude
            </button>
          )}
          {hasProject && isRelabelled && !move && (
            <button type="button" className="small" onClick={() => void moveFile(item.file, relabelled).then(setMove)} title="Move the photo into the folder of its new label">
              Move file
            </button>
          )}
          {move && (
            <button type="button" className="small" onClick={() => void undoMove(move.id).then(() => setMove(null))}>
              Undo move
            </button>
          )}
        </div>
        {isRelabelled && <div className="small muted">The next training uses “{relabelled}”.</div>}
      </figcaption>
    </figure>
  );
}

export const ImageTile = memo(ImageTileView);

export function TileGrid({ items, classes, empty }: { items: ReviewItem[]; classes: string[]; empty: string }) {
  if (items.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="tile-grid">
      {items.map((item) => (
        <ImageTile key={`${item.split}:${item.file}`} item={item} classes={classes} />
      ))}
    </div>
  );
}
