// Loss against learning rate on a log axis, the suggestion marked; a click picks another rate.
import { memo, useEffect, useMemo, useRef } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis, useActiveTooltipLabel } from 'recharts';
import type { LrCurve } from '../../../shared/types';
import { formatRate } from '../../lib/format';

/** Powers of ten spanning the curve, for readable log-axis ticks. */
export function decadeTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    const t = 10 ** e;
    if (t >= min * 0.999 && t <= max * 1.001) ticks.push(t);
  }
  return ticks;
}

/**
 * The y range worth looking at: the loss explodes at the largest rates and would flatten
 * everything else, so the top is capped a little above where the curve started.
 */
export function lossDomain(curve: LrCurve['curve']): [number, number] {
  const losses = curve.map((p) => p.loss).filter(Number.isFinite);
  if (losses.length === 0) return [0, 1];
  const min = Math.min(...losses);
  const start = losses.slice(0, Math.max(1, Math.ceil(losses.length / 10))).reduce((a, b) => Math.max(a, b), -Infinity);
  const top = Math.min(Math.max(...losses), start + (start - min) * 0.5 || start * 1.2);
  const pad = (top - min) * 0.05 || 0.05;
  return [Math.max(0, min - pad), top + pad];
}

/** Keeps the rate under the tooltip (mouse or arrow keys) so Enter can pick it. */
function ActiveRate({ into }: { into: { current: number | null } }) {
  const label = useActiveTooltipLabel();
  useEffect(() => {
    into.current = label == null ? null : Number(label);
  }, [label, into]);
  return null;
}

/** Round ticks (0.1, 0.2, 0.5 apart…) spanning the domain, and the domain widened to them. */
export function niceTicks([lo, hi]: [number, number]): number[] {
  const raw = (hi - lo) / 5 || 0.1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 0.999; t += step) ticks.push(Number(t.toFixed(10)));
  return ticks;
}

function LrChartView({ curve, chosen, onPick }: { curve: LrCurve; chosen: number | null; onPick(lr: number): void }) {
  const points = useMemo(() => curve.curve.filter((p) => p.lr > 0 && Number.isFinite(p.loss)), [curve]);
  const [xMin, xMax] = [points[0]?.lr ?? 1e-6, points[points.length - 1]?.lr ?? 1];
  const ticks = useMemo(() => decadeTicks(xMin, xMax), [xMin, xMax]);
  const yTicks = useMemo(() => niceTicks(lossDomain(points)), [points]);
  const active = useRef<number | null>(null);

  return (
    <div
      className="chart lr-chart"
      data-testid="lr-chart"
      title="Click the curve to pick another learning rate"
      onKeyDown={(e) => {
        // The chart is focusable and its arrow keys move along the curve; Enter picks that rate.
        if ((e.key === 'Enter' || e.key === ' ') && active.current && active.current > 0) {
          e.preventDefault();
          onPick(active.current);
        }
      }}
    >
      <ResponsiveContainer width="100%" height={320}>
        <LineChart
          data={points}
          margin={{ top: 24, right: 24, bottom: 8, left: 8 }}
          onClick={(state) => {
            const index = Number(state?.activeTooltipIndex);
            const point = Number.isInteger(index) ? points[index] : undefined;
            if (point) onPick(point.lr);
          }}
          style={{ cursor: 'crosshair' }}
        >
          <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" />
          <XAxis
            dataKey="lr"
            type="number"
            scale="log"
            domain={[xMin, xMax]}
            ticks={ticks}
            tickFormatter={(v: number) => formatRate(v)}
            stroke="var(--muted)"
            label={{ value: 'learning rate (log scale)', position: 'insideBottom', offset: -4, fill: 'var(--muted)' }}
            height={44}
            allowDataOverflow
          />
          <YAxis
            domain={[yTicks[0]!, yTicks[yTicks.length - 1]!]}
            ticks={yTicks}
            allowDataOverflow
            stroke="var(--muted)"
            tickFormatter={(v: number) => String(Number(v.toFixed(3)))}
            width={48}
            label={{ value: 'loss', angle: -90, position: 'insideLeft', fill: 'var(--muted)' }}
          />
          <Tooltip
            formatter={(v) => [Number(v).toFixed(3), 'loss']}
            labelFormatter={(v) => `rate ${formatRate(Number(v))}`}
            contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' }}
          />
          <Line type="monotone" dataKey="loss" stroke="var(--accent)" strokeWidth={2} dot={false} isAnimationActive={false} />
          <ActiveRate into={active} />
          <ReferenceLine x={curve.suggestion} stroke="var(--good)" strokeWidth={2} label={{ value: 'suggested', position: 'top', fill: 'var(--good)' }} />
          {chosen != null && Math.abs(chosen - curve.suggestion) > curve.suggestion * 1e-6 && (
            <ReferenceLine x={chosen} stroke="var(--accent-2)" strokeDasharray="4 3" strokeWidth={2} label={{ value: 'your pick', position: 'insideTopRight', fill: 'var(--accent-2)' }} />
          )}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

export const LrChart = memo(LrChartView);
