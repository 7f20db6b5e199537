// Live loss and accuracy. Batch points arrive already thinned and at most once a frame (see store/train).
import { memo, useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { EpochMetrics } from '../../../shared/types';
import type { BatchPoint } from '../../store/train';

/** Fine-tuning may number its epochs from 1 again; it is drawn after the head's epochs. */
export function epochX(m: Pick<EpochMetrics, 'epoch' | 'stage'>, headEpochs: number): number {
  return m.stage === 'fine-tune' && m.epoch <= headEpochs ? headEpochs + m.epoch : m.epoch;
}

const tooltipStyle = { background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' };

function LossChartView({ batches, epochs, planned }: { batches: BatchPoint[]; epochs: EpochMetrics[]; planned: number }) {
  const batchData = useMemo(() => batches.map((b) => ({ x: b.stage === 'fine-tune' && b.x < planned ? b.x + planned : b.x, batch: b.loss })), [batches, planned]);
  const epochData = useMemo(() => epochs.map((e) => ({ x: epochX(e, planned), train: e.trainLoss, valid: e.validLoss })), [epochs, planned]);
  const maxX = Math.max(planned, ...epochData.map((d) => d.x), ...batchData.map((d) => Math.ceil(d.x)), 1);
  return (
    <figure className="chart" data-testid="loss-chart">
      <figcaption>Loss by epoch (lower is better)</figcaption>
      {batches.length === 0 && epochs.length === 0 && <p className="chart-empty">The curves appear here as the model trains.</p>}
      <ResponsiveContainer width="100%" height={240}>
        <LineChart margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" />
          <XAxis dataKey="x" type="number" domain={[0, maxX]} allowDecimals={false} tickCount={Math.min(maxX + 1, 11)} stroke="var(--muted)" />
          <YAxis stroke="var(--muted)" width={44} tickFormatter={(v: number) => v.toFixed(2)} domain={[0, 'auto']} />
          <Tooltip contentStyle={tooltipStyle} formatter={(v) => Number(v).toFixed(3)} labelFormatter={(v) => `epoch ${Number(v).toFixed(2)}`} />
          <Legend />
          <Line data={batchData} dataKey="batch" name="each batch" stroke="var(--faint-line)" dot={false} strokeWidth={1} isAnimationActive={false} />
          <Line data={epochData} dataKey="train" name="training (epoch)" stroke="var(--accent)" strokeWidth={2} isAnimationActive={false} />
          <Line data={epochData} dataKey="valid" name="checking (epoch)" stroke="var(--accent-2)" strokeWidth={2} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

function AccuracyChartView({ epochs, planned }: { epochs: EpochMetrics[]; planned: number }) {
  const data = useMemo(() => epochs.map((e) => ({ x: epochX(e, planned), valid: e.accuracy, train: e.trainAccuracy })), [epochs, planned]);
  const maxX = Math.max(planned, ...data.map((d) => d.x), 1);
  const hasTrain = data.some((d) => d.train != null);
  return (
    <figure className="chart" data-testid="accuracy-chart">
      <figcaption>Accuracy by epoch (higher is better)</figcaption>
      {epochs.length === 0 && <p className="chart-empty">Filled in after each epoch.</p>}
      <ResponsiveContainer width="100%" height={240}>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" />
          <XAxis dataKey="x" type="number" domain={[0, maxX]} allowDecimals={false} tickCount={Math.min(maxX + 1, 11)} stroke="var(--muted)" />
          <YAxis domain={[0, 1]} stroke="var(--muted)" width={52} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} />
          <Tooltip contentStyle={tooltipStyle} formatter={(v) => `${(Number(v) * 100).toFixed(1)}%`} labelFormatter={(v) => `epoch ${v}`} />
          <Legend />
          {hasTrain && <Line dataKey="train" name="on training photos" stroke="var(--accent)" strokeWidth={2} isAnimationActive={false} />}
          <Line dataKey="valid" name="on checking photos" stroke="var(--accent-2)" strokeWidth={2} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

export const LossChart = memo(LossChartView);
export const AccuracyChart = memo(AccuracyChartView);
