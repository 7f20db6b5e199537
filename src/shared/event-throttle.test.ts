import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineEvents, EventName } from './contract';
import { throttleCallEvents } from './event-throttle';

type Sent = { name: EventName; payload: Record<string, unknown>; at: number };

let sent: Sent[];
const record = <E extends EventName>(name: E, payload: EngineEvents[E]) => sent.push({ name, payload: payload as Record<string, unknown>, at: Date.now() });
const step = (stage: EngineEvents['job/progress']['stage'], done: number, total: number, extra: Partial<EngineEvents['job/progress']> = {}) => ({ job: 'j', stage, done, total, ...extra });
const batch = (epoch: number, b: number, batches: number) => ({ job: 'j', epoch, batch: b, batches, loss: 1 / b, stage: 'head' as const });
const progressSent = () => sent.filter((s) => s.name === 'job/progress').map((s) => s.payload);

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  sent = [];
});
afterEach(() => vi.useRealTimers());

describe('throttleCallEvents', () => {
  it('sends progress at most every 250 ms, the last step at once, and estimates the time left from the step rate', () => {
    const { emit, close } = throttleCallEvents(record);
    for (let done = 0; done <= 1000; done++) {
      emit('job/progress', step('scan', done, 1000)); // a file every 2 ms: 2 s in all
      vi.advanceTimersByTime(2);
    }
    const times = sent.map((s) => s.at);
    expect(sent.length).toBeLessThanOrEqual(2000 / 250 + 2);
    for (let i = 1; i < times.length - 1; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(250);
    expect(progressSent().at(-1)).toMatchObject({ done: 1000, total: 1000, etaSeconds: 0 });
    expect(sent.at(-1)!.at).toBe(2000); // the last step did not wait for its interval
    // The step held at 248 ms goes out when the interval ends; 500 files a second, 876 left -> about 2 s.
    expect(progressSent()[1]).toMatchObject({ done: 124, etaSeconds: 2 });
    expect(sent[1]!.at).toBe(250);
    expect(progressSent()[0]).toMatchObject({ done: 0, etaSeconds: null }); // no rate yet
    close();
  });

  it('sends a held step when its interval ends, without waiting for another one', () => {
    const { emit, close } = throttleCallEvents(record);
    emit('job/progress', step('features', 1, 10));
    vi.advanceTimersByTime(100);
    emit('job/progress', step('features', 2, 10));
    emit('job/progress', step('features', 3, 10));
    expect(progressSent().map((p) => p.done)).toEqual([1]);
    vi.advanceTimersByTime(150);
    expect(progressSent().map((p) => p.done)).toEqual([1, 3]);
    expect(sent[1]!.at).toBe(250);
    close();
  });

  it('sends a new stage at once, after the previous stage\'s held step', () => {
    const { emit, close } = throttleCallEvents(record);
    emit('job/progress', step('scan', 1, 5));
    emit('job/progress', step('scan', 4, 5));
    emit('job/progress', step('features', 0, 20));
    expect(progressSent().map((p) => `${p.stage} ${p.done}`)).toEqual(['scan 1', 'scan 4', 'features 0']);
    expect(sent.every((s) => s.at === 0)).toBe(true);
    close();
  });

  it('keeps the time left a stage sends itself, a number or null', () => {
    const { emit, close } = throttleCallEvents(record);
    emit('job/progress', step('fine-tune', 0, 10, { etaSeconds: 99 }));
    vi.advanceTimersByTime(300);
    emit('job/progress', step('fine-tune', 5, 10, { etaSeconds: null }));
    expect(progressSent().map((p) => p.etaSeconds)).toEqual([99, null]);
    close();
  });

  it('sends train batches at most every 50 ms, and every epoch\'s last batch', () => {
    const { emit, close } = throttleCallEvents(record);
    for (let epoch = 1; epoch <= 2; epoch++) {
      for (let b = 1; b <= 100; b++) {
        emit('train/batch', batch(epoch, b, 100)); // a batch a millisecond
        vi.advanceTimersByTime(1);
      }
    }
    const batches = sent.filter((s) => s.name === 'train/batch').map((s) => s.payload);
    expect(batches.length).toBeLessThanOrEqual(200 / 50 + 2);
    expect(batches.filter((b) => b.batch === 100).map((b) => b.epoch)).toEqual([1, 2]);
    close();
  });

  it('lets any other event out at once, after the steps held before it', () => {
    const { emit, close } = throttleCallEvents(record);
    emit('train/batch', batch(1, 1, 10));
    emit('train/batch', batch(1, 2, 10));
    emit('job/progress', step('train', 1, 10));
    emit('job/progress', step('train', 2, 10));
    emit('engine/notice', { level: 'info', message: 'epoch done' });
    expect(sent.map((s) => `${s.name} ${String(s.payload.batch ?? s.payload.done ?? s.payload.message)}`)).toEqual([
      'train/batch 1',
      'job/progress 1',
      'train/batch 2',
      'job/progress 2',
      'engine/notice epoch done',
    ]);
    close();
  });

  it('re-sends the last progress after a second of silence, with a longer time left, until closed', () => {
    const { emit, close } = throttleCallEvents(record);
    emit('job/progress', step('features', 0, 105));
    vi.advanceTimersByTime(500);
    emit('job/progress', step('features', 5, 105)); // 10 a second: 10 s left
    vi.advanceTimersByTime(2499);
    expect(progressSent().map((p) => [p.done, p.etaSeconds])).toEqual([
      [0, null],
      [5, 10],
      [5, 30], // at 1.5 s: 5 in 1.5 s, 100 left
      [5, 50], // at 2.5 s
    ]);
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500, 2500]);
    close();
    vi.advanceTimersByTime(5000);
    expect(progressSent()).toHaveLength(4);
  });

  it('sends what it holds when the call closes, and nothing later', () => {
    const { emit, close } = throttleCallEvents(record);
    emit('job/progress', step('export', 1, 10));
    emit('job/progress', step('export', 2, 10));
    close();
    expect(progressSent().map((p) => p.done)).toEqual([1, 2]);
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(2);
  });
});
