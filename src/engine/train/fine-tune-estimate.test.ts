// The arithmetic of the fine-tuning estimate; the timing itself runs in run.test.ts on real weights.
import { describe, expect, it } from 'vitest';
import { describeDuration, fitStepCost, projectCost, timedSizes, type StepTiming, type WorkPlan } from './fine-tune-estimate';

describe('fitStepCost', () => {
  it('splits timings into a fixed cost per pass and a cost per pixel', () => {
    // 0.2 s fixed + 1e-4 s per pixel, at 64 and 96 pixels square.
    const fit = fitStepCost({ pixels: 4096, seconds: 0.2 + 0.4096 }, { pixels: 9216, seconds: 0.2 + 0.9216 });
    expect(fit.overhead).toBeCloseTo(0.2, 6);
    expect(fit.perPixel).toBeCloseTo(1e-4, 9);
  });

  it('falls back to cost per pixel when noise makes the larger size look no slower', () => {
    expect(fitStepCost({ pixels: 4096, seconds: 1 }, { pixels: 9216, seconds: 0.9 })).toEqual({ overhead: 0, perPixel: 0.9 / 9216 });
  });
});

describe('projectCost', () => {
  /**
   * A stand-in machine whose training pass over `photos` photos of `size` pixels square takes
   * `overhead + photos * perPixel * size²` seconds. The estimate sees only two single-photo timings
   * at small sizes; `job` adds up what every pass of the real job would take there.
   */
  function machine(overhead: number, perPixel: number) {
    const pass = (photos: number, size: number) => overhead + photos * perPixel * size * size;
    return {
      timed: (size: number): StepTiming => ({ pixels: size * size, seconds: pass(1, size) }),
      job({ trainPhotos, epochs, sliceSize }: WorkPlan, size: number): number {
        let seconds = 0;
        for (let epoch = 0; epoch < epochs; epoch++) {
          for (let done = 0; done < trainPhotos; done += sliceSize) seconds += pass(Math.min(sliceSize, trainPhotos - done), size);
        }
        return seconds;
      },
    };
  }
  const plan: WorkPlan = { pixels: 224 * 224, trainPhotos: 100, epochs: 2, sliceSize: 1, forwardPhotos: 0 };

  it('is exact on a machine whose cost is per pixel only: 200 passes of 5.02 s', () => {
    const m = machine(0, 1e-4);
    const cost = projectCost(m.timed(64), m.timed(96), 0, plan);
    expect(m.job(plan, 224)).toBeCloseTo(1003.52, 6);
    expect(cost.seconds).toBeCloseTo(1003.52, 6);
    expect(cost.perPhoto).toBeCloseTo(5.0176, 6);
    expect(cost.low).toBeLessThan(1003.52);
    expect(cost.high).toBeGreaterThan(1003.52);
  });

  it('with a fixed cost per pass, the real time lies in the range and the estimate is within 10% of it', () => {
    const m = machine(0.2, 1e-4);
    const truth = m.job(plan, 224); // 200 passes of 0.2 + 5.0176 s
    expect(truth).toBeCloseTo(1043.52, 6);
    const cost = projectCost(m.timed(64), m.timed(96), 0, plan);
    expect(cost.low).toBeLessThan(truth);
    expect(cost.high).toBeGreaterThan(truth);
    expect(Math.abs(cost.seconds / truth - 1)).toBeLessThan(0.1);
    expect(cost.low).toBeLessThanOrEqual(cost.seconds);
    expect(cost.seconds).toBeLessThanOrEqual(cost.high);
  });

  it('expects less time when photos go through in bigger passes, which pay the fixed cost less often', () => {
    const m = machine(0.2, 1e-4);
    const whole = { ...plan, sliceSize: 16 };
    const truth = m.job(whole, 224); // 2 epochs of 7 passes: 37.2 s less than one photo a pass
    expect(truth).toBeCloseTo(1006.32, 6);
    const sliced = projectCost(m.timed(64), m.timed(96), 0, plan);
    const batched = projectCost(m.timed(64), m.timed(96), 0, whole);
    expect(batched.seconds).toBeLessThan(sliced.seconds);
    expect(batched.low).toBeLessThan(sliced.low);
    expect(batched.low).toBeLessThan(truth);
    expect(batched.high).toBeGreaterThan(truth);
  });

  it('adds the forward passes: 300 photos at 0.05 s are 15 s more, at both ends of the range', () => {
    const m = machine(0.2, 1e-4);
    const without = projectCost(m.timed(64), m.timed(96), 0, plan);
    const withForward = projectCost(m.timed(64), m.timed(96), 0.05, { ...plan, forwardPhotos: 300 });
    expect(withForward.seconds - without.seconds).toBeCloseTo(15, 6);
    expect(withForward.low - without.low).toBeCloseTo(15, 6);
    expect(withForward.high - without.high).toBeCloseTo(15, 6);
    expect(withForward.perPhoto).toBeCloseTo(without.perPhoto, 6);
  });

  it('scales the larger timing by pixel count when noise makes the smaller size look slower', () => {
    // 0.9 s at 96x96 is 0.9 * (224/96)^2 = 4.9 s a photo at 224x224; 200 of them are 980 s.
    const cost = projectCost({ pixels: 64 * 64, seconds: 1 }, { pixels: 96 * 96, seconds: 0.9 }, 0, plan);
    expect(cost.perPhoto).toBeCloseTo(4.9, 6);
    expect(cost.seconds).toBeCloseTo(980, 6);
    expect(cost.low).toBeLessThan(980);
    expect(cost.high).toBeGreaterThan(980);
  });
});

describe('timedSizes and describeDuration', () => {
  it('times MobileNet sizes at multiples of 32, the larger above the smaller', () => {
    expect(timedSizes(224)).toEqual([64, 96]);
    expect(timedSizes(96)).toEqual([32, 64]);
    expect(timedSizes(32)).toEqual([32, 32]);
  });

  it('says durations in the unit a person would use', () => {
    expect(describeDuration(40)).toBe('40 seconds');
    expect(describeDuration(12 * 60)).toBe('12 minutes');
    expect(describeDuration(3.5 * 3600)).toBe('3.5 hours');
  });
});
