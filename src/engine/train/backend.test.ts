import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useGradientBackend } from './backend';

describe('useGradientBackend', () => {
  afterEach(() => vi.restoreAllMocks());

  it("switches to the cpu backend for convolution gradients without tfjs's install-our-node-backend banner", async () => {
    const warn = vi.spyOn(console, 'warn');
    expect(await useGradientBackend('convolutions')).toBe('cpu');
    tf.tidy(() => tf.ones([2, 2]).sum().dataSync());
    const printed = warn.mock.calls.map((args) => args.join(' ')).join('\n');
    expect(printed).not.toMatch(/node backend/);
  });
});
