// The arithmetic of the fine-tuning estimate; the timing itself runs in run.test.ts on real weights.
import { describe, expect, it } from 'vitest';
import { describeDuration, fitStepCost, projectCost, timedSizes } from './fine-tune-estimate';

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
  const small = { pixels: 64 * 64, seconds: 0.2 + 4096e-4 };
  const large = { pixels: 96 * 96, seconds: 0.2 + 9216e-4 };
  const plan = { pixels: 224 * 224, trainPhotos: 100, epochs: 2, sliceSize: 1, forwardPhotos: 0 };

  it('brackets the job between the fitted and the per-pixel scalings', () => {
    const cost = projectCost(small, large, 0, plan);
    const fitted = 2 * 100 * (0.2 + 50176e-4); // 1043.5 s
    const perPixelOnly = 2 * 100 * large.seconds * (50176 / 9216); // 1221.3 s
    expect(cost.seconds).toBeCloseTo((fitted + perPixelOnly) / 2, 6);
    expect(cost.low).toBeCloseTo(0.85 * fitted, 6);
    expect(cost.high).toBeCloseTo(1.15 * perPixelOnly, 6);
    expect(cost.perPhoto).toBeCloseTo(cost.seconds / 200, 6);
  });

  it('pays the fixed cost once per slice, and adds forward passes', () => {
    const sliced = projectCost(small, large, 0, plan);
    const whole = projectCost(small, large, 0, { ...plan, sliceSize: 16 });
    expect(sliced.low - whole.low).toBeCloseTo(0.85 * 2 * (100 - 7) * 0.2, 6);
    const withForward = projectCost(small, large, 0.05, { ...plan, forwardPhotos: 300 });
    expect(withForward.seconds - sliced.seconds).toBeCloseTo(15, 6);
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
