// The one rate limit on what a running call tells its caller. serveRpc puts it on every call's
// emit, so the app, `foldwise serve` and the CLI (an in-memory rpc) all get the same events, and
// engine stages just report each step as it happens.
//
// Rules, per call and per event name:
// - 'job/progress' goes out at most every 250 ms and 'train/batch' every 50 ms (the loss chart's
//   density, as before); every other event goes out at once.
// - A step that starts a new stage, and a stage's last step (done = total, or an epoch's last
//   batch), go out at once. A held step is never lost: the newest one goes out when its interval
//   ends, before a stage change, before any other event of the call, and before the call's answer.
// - While a call runs, its last progress is re-sent after a second of silence, so a slow step
//   never looks stuck (the heartbeat every stage used to run itself).
// - The time left (etaSeconds) is estimated here, from the step rate since the stage's first step,
//   unless the stage sends its own (a number, or null for "no honest estimate").
import type { EngineEvents, EventName } from './contract';

export type Emit = <E extends EventName>(event: E, payload: EngineEvents[E]) => void;

export interface ThrottleOptions {
  progressMs?: number;
  batchMs?: number;
  heartbeatMs?: number;
}

type Progress = EngineEvents['job/progress'];
type Limited = 'job/progress' | 'train/batch';

interface Lane {
  stage: string | null;
  sentAt: number;
  /** The stage's first step, where the time-left estimate measures the rate from. */
  first: { at: number; done: number } | null;
  held: { payload: EngineEvents[Limited]; at: number } | null;
  timer: ReturnType<typeof setTimeout> | null;
}

const isLimited = (name: EventName): name is Limited => name === 'job/progress' || name === 'train/batch';

/** Time left at `at` for `step`, from the rate since the stage's first step; null until there is a rate. */
export function estimateSecondsLeft(step: Pick<Progress, 'done' | 'total'>, first: { at: number; done: number }, at: number): number | null {
  if (step.done >= step.total) return 0;
  const seconds = (at - first.at) / 1000;
  const rate = seconds > 0 ? (step.done - first.done) / seconds : 0;
  return rate > 0 ? Math.round((step.total - step.done) / rate) : null;
}

/** Wraps one call's `emit`. `close()` sends what is held and stops the timers; call it before the call's answer. */
export function throttleCallEvents(emit: Emit, { progressMs = 250, batchMs = 50, heartbeatMs = 1000 }: ThrottleOptions = {}): { emit: Emit; close(): void } {
  const lanes = new Map<Limited, Lane>();
  let lastProgress: Progress | null = null;
  let heartbeat: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  const intervalOf = (name: Limited) => (name === 'job/progress' ? progressMs : batchMs);
  const stageOf = (name: Limited, payload: EngineEvents[Limited]) => (name === 'job/progress' ? (payload as Progress).stage : ((payload as EngineEvents['train/batch']).stage ?? 'head'));
  const isLast = (name: Limited, payload: EngineEvents[Limited]) => {
    if (name === 'job/progress') return (payload as Progress).done >= (payload as Progress).total;
    const b = payload as EngineEvents['train/batch'];
    return b.batch >= b.batches;
  };

  const armHeartbeat = () => {
    if (heartbeat) clearTimeout(heartbeat);
    heartbeat = closed || !lastProgress ? null : setTimeout(() => send('job/progress', lastProgress!, Date.now()), heartbeatMs);
  };

  const send = (name: Limited, payload: EngineEvents[Limited], at: number) => {
    const lane = lanes.get(name)!;
    lane.sentAt = Date.now();
    if (name === 'train/batch') return emit(name, payload as EngineEvents['train/batch']);
    const step = payload as Progress;
    lastProgress = step;
    const etaSeconds = step.etaSeconds !== undefined ? step.etaSeconds : estimateSecondsLeft(step, lane.first!, at);
    emit('job/progress', { ...step, etaSeconds });
    armHeartbeat();
  };

  const release = (name: Limited) => {
    const lane = lanes.get(name);
    if (!lane) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = null;
    const held = lane.held;
    lane.held = null;
    if (held) send(name, held.payload, held.at);
  };

  const offer = (name: Limited, payload: EngineEvents[Limited]) => {
    const now = Date.now();
    let lane = lanes.get(name);
    if (!lane) lanes.set(name, (lane = { stage: null, sentAt: -Infinity, first: null, held: null, timer: null }));
    const stage = stageOf(name, payload);
    if (stage !== lane.stage) {
      release(name); // the previous stage's newest step first, so a caller never sees stages go back
      lane.stage = stage;
      lane.first = name === 'job/progress' ? { at: now, done: (payload as Progress).done } : null;
      return send(name, payload, now);
    }
    if (isLast(name, payload) || now - lane.sentAt >= intervalOf(name)) {
      lane.held = null;
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
      return send(name, payload, now);
    }
    lane.held = { payload, at: now };
    lane.timer ??= setTimeout(() => release(name), lane.sentAt + intervalOf(name) - now);
  };

  return {
    emit(name, payload) {
      if (closed) return emit(name, payload);
      if (isLimited(name)) return offer(name, payload as EngineEvents[Limited]);
      for (const held of lanes.keys()) release(held);
      emit(name, payload);
    },
    close() {
      for (const held of lanes.keys()) release(held);
      closed = true;
      if (heartbeat) clearTimeout(heartbeat);
      heartbeat = null;
    },
  };
}
