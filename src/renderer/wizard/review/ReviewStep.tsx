import { useEffect, useMemo } from 'react';
import { Message } from '../../components/Message';
import { ProgressBar } from '../../components/ProgressBar';
import { formatPercent, plural } from '../../lib/format';
import { useApp, useAppStore } from '../../store';
import { cellItems, currentRunDir } from '../../store/review';
import { ConfusionMatrix } from './ConfusionMatrix';
import { TileGrid } from './ImageTile';

const CELL_LIMIT = 60;

function OpenCell() {
  const data = useApp((s) => s.review.data);
  const cell = useApp((s) => s.openCell);
  const close = useApp((s) => s.openConfusionCell);
  const items = useMemo(() => (data && cell ? cellItems(data, cell) : []), [data, cell]);
  if (!data || !cell) return null;
  const actual = data.classes[cell.actual];
  const predicted = data.classes[cell.predicted];
  return (
    <section className="open-cell" aria-live="polite" data-testid="open-cell">
      <div className="row">
        <h3 className="grow">
          {actual === predicted ? `${actual} photos the model got right` : `${actual} photos the model called ${predicted}`} ({items.length})
        </h3>
        <button type="button" className="small" onClick={() => close(null)}>
          Close
        </button>
      </div>
      <TileGrid items={items.slice(0, CELL_LIMIT)} classes={data.classes} empty="No photos in this cell." />
      {items.length > CELL_LIMIT && <p className="muted small">Showing the first {CELL_LIMIT}.</p>}
    </section>
  );
}

export function ReviewStep() {
  const store = useAppStore();
  const review = useApp((s) => s.review);
  const runDir = useApp(currentRunDir);
  const progress = useApp((s) => (s.review.status === 'running' ? Object.values(s.progress).find((p) => p.stage === 'evaluate') : undefined));
  const editsCount = useApp((s) => s.edits.exclude.length + Object.keys(s.edits.relabel).length);
  const evaluateRun = useApp((s) => s.evaluateRun);
  const goTo = useApp((s) => s.goTo);
  const startTraining = useApp((s) => s.startTraining);

  // Entering the step reviews the current run, once per run.
  useEffect(() => {
    const s = store.getState();
    if (runDir && s.review.forRun !== runDir && s.review.status !== 'running') void s.evaluateRun();
  }, [runDir, store]);

  const data = review.data;
  return (
    <div className="stack">
      {review.status === 'running' && <ProgressBar progress={progress} label="Checking the model on your photos" />}
      {review.error && (
        <Message kind="error" title="Foldwise could not review this model." testId="review-error">
          {review.error}{' '}
          <button type="button" className="small" onClick={() => void evaluateRun()}>
            Try again
          </button>
        </Message>
      )}
      {editsCount > 0 && (
        <div className="row wrap retrain-bar">
          <span className="grow">
            You changed {plural(editsCount, 'photo')}. Your files stay as they are; the next training uses your changes.
          </span>
          <button
            type="button"
            className="primary"
            data-testid="retrain"
            onClick={() => {
              goTo('train');
              void startTraining();
            }}
          >
            Retrain with my changes
          </button>
        </div>
      )}
      {data && (
        <>
          <p className="summary">
            The model got <strong>{formatPercent(data.accuracy)}</strong> of {data.predictions.length} checking photos right.
          </p>
          <div className="review-top">
            <ConfusionMatrix data={data} />
            <div className="stack">
              <table className="per-class">
                <caption className="muted small">Precision: when it says this class, how often it is right. Recall: of the photos of this class, how many it finds.</caption>
                <thead>
                  <tr>
                    <th scope="col">Class</th>
                    <th scope="col">Precision</th>
                    <th scope="col">Recall</th>
                    <th scope="col">Photos</th>
                  </tr>
                </thead>
                <tbody>
                  {data.perClass.map((c) => (
                    <tr key={c.name}>
                      <th scope="row">{c.name}</th>
                      <td>{formatPercent(c.precision, 0)}</td>
                      <td>{formatPercent(c.recall, 0)}</td>
                      <td>{c.support}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {data.mostConfused.length > 0 && (
                <div>
                  <h3>Most often mixed up</h3>
                  <ul className="plain">
                    {data.mostConfused.slice(0, 5).map((m) => (
                      <li key={`${m.actual}>${m.predicted}`}>
                        <strong>{m.actual}</strong> taken for <strong>{m.predicted}</strong>: {m.count}×
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </div>
          </div>
          <OpenCell />
          <section>
            <h3>Most confident mistakes</h3>
            <p className="hint">The model was sure and wrong. Often the label is wrong, or the photo shows something else too. Heatmaps show where it looked.</p>
            <TileGrid items={data.topLosses.filter((i) => i.actual !== i.predicted).slice(0, 12)} classes={data.classes} empty="No mistakes on the checking photos." />
          </section>
          <section>
            <h3>Least sure</h3>
            <p className="hint">Photos where the model hesitated between two classes.</p>
            <TileGrid items={data.uncertain.slice(0, 12)} classes={data.classes} empty="The model was sure about every photo." />
          </section>
        </>
      )}
    </div>
  );
}
