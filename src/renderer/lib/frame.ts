// Batch-rate events (a loss every few milliseconds) must not re-render React each time: they are
// collected and handed over once per animation frame.
export type FrameScheduler = (callback: () => void) => void;

export const nextFrame: FrameScheduler = (callback) => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => callback());
  else setTimeout(callback, 16);
};

/** Collects items and calls `flush` with all of them at most once per frame. */
export function createFrameBatcher<T>(flush: (items: T[]) => void, schedule: FrameScheduler = nextFrame): (item: T) => void {
  let pending: T[] = [];
  let scheduled = false;
  return (item) => {
    pending.push(item);
    if (scheduled) return;
    scheduled = true;
    schedule(() => {
      scheduled = false;
      const items = pending;
      pending = [];
      flush(items);
    });
  };
}

/** Keeps a growing series short enough to draw: beyond `max` points, older points are thinned by half. */
export function thinSeries<T>(series: T[], max: number): T[] {
  if (series.length <= max) return series;
  const keepRecent = Math.floor(max / 2);
  const old = series.slice(0, series.length - keepRecent).filter((_, i) => i % 2 === 0);
  return [...old, ...series.slice(series.length - keepRecent)];
}
