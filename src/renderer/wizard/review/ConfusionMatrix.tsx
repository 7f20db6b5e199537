// Rows are what the photos are, columns what the model said; each cell opens its photos.
import type { Interpretation } from '../../../shared/types';
import { useApp } from '../../store';

export function ConfusionMatrix({ data }: { data: Interpretation }) {
  const openCell = useApp((s) => s.openCell);
  const open = useApp((s) => s.openConfusionCell);
  const rowTotals = data.confusion.map((row) => row.reduce((a, b) => a + b, 0));
  return (
    <div className="matrix-wrap">
      <table className="confusion" data-testid="confusion-matrix">
        <caption className="muted small">Rows: what the photo really is. Columns: what the model said. Click a number to see those photos.</caption>
        <thead>
          <tr>
            <th scope="col" className="corner">
              is ↓ / said →
            </th>
            {data.classes.map((c) => (
              <th scope="col" key={c} className="truncate" title={c}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.confusion.map((row, actual) => (
            <tr key={data.classes[actual]}>
              <th scope="row" className="truncate" title={data.classes[actual]}>
                {data.classes[actual]}
              </th>
              {row.map((count, predicted) => {
                const share = rowTotals[actual] ? count / rowTotals[actual]! : 0;
                const right = actual === predicted;
                const isOpen = openCell?.actual === actual && openCell?.predicted === predicted;
                return (
                  <td key={predicted}>
                    <button
                      type="button"
                      data-testid="confusion-cell"
                      className={`cell ${right ? 'cell-right' : 'cell-wrong'}${isOpen ? ' cell-open' : ''}`}
                      style={{ ['--share' as string]: share.toFixed(3) }}
                      aria-pressed={isOpen}
                      aria-label={`${count} ${data.classes[actual]} photos the model called ${data.classes[predicted]}`}
                      onClick={() => open({ actual, predicted })}
                    >
                      {count}
                    </button>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
