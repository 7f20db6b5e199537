// The compute owner: jobs take turns, each starts on the backend for what it computes, a phase of a
// job gets its own backend and gives the job's back, and nothing outside a job switches under it.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overridePreference, switchBackend, withBackend } from './compute';
import { originalCpuKernel } from './train/cpu-gradients';
import { originalWasmKernel } from './train/wasm-gradients';

/** Resolves when `release` is called, so a test can hold a job open. */
function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return { opened, release };
}

describe('withBackend', () => {
  // Without tfjs-node every need runs on wasm; convolutions on 'cpu' here tell a job's backend from a phase's.
  let undo: () => void;
  beforeAll(() => (undo = overridePreference('convolutions', ['cpu'])));
  afterAll(() => undo());

  it('runs jobs one at a time, in the order asked, each on its own backend', async () => {
    const log: string[] = [];
    const hold = gate();
    const training = withBackend('convolutions', async () => {
      log.push(`training starts on ${tf.getBackend()}`);
      await hold.opened;
      log.push(`training ends on ${tf.getBackend()}`);
    });
    const heatmap = withBackend('inference', () => log.push(`heatmap on ${tf.getBackend()}`));
    await new Promise((r) => setTimeout(r, 50));
    expect(log).toEqual(['training starts on cpu']);
    hold.release();
    await Promise.all([training, heatmap]);
    expect(log).toEqual(['training starts on cpu', 'training ends on cpu', 'heatmap on wasm']);
  });

  it("gives a phase its backend and puts the job's back after it, even when the phase fails", async () => {
    const seen = await withBackend('convolutions', async () => {
      const during = await withBackend('inference', () => tf.getBackend());
      const after = tf.getBackend();
      await expect(withBackend('inference', () => Promise.reject(new Error('validation broke')))).rejects.toThrow('validation broke');
      return { during, after, afterFailure: tf.getBackend() };
    });
    expect(seen).toEqual({ during: 'wasm', after: 'cpu', afterFailure: 'cpu' });
  });

  it('keeps the queue going after a job fails, and leaves tfjs on the backend it found', async () => {
    await switchBackend('inference');
    await expect(withBackend('convolutions', () => Promise.reject(new Error('out of memory')))).rejects.toThrow('out of memory');
    expect(await withBackend('head', () => 'next job ran')).toBe('next job ran');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('refuses a switch from outside while a job computes', async () => {
    const hold = gate();
    const job = withBackend('convolutions', () => hold.opened);
    await new Promise((r) => setTimeout(r, 20));
    await expect(switchBackend('inference')).rejects.toThrow(/while a job computes/);
    expect(tf.getBackend()).toBe('cpu');
    hold.release();
    await job;
  });

  it('puts the fast filter gradients in place on the cpu backend before convolutions run', async () => {
    await withBackend('convolutions', () => undefined);
    const fast = tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc;
    expect(fast).not.toBe(originalCpuKernel('Conv2DBackpropFilter'));
  });
});

describe('switchBackend', () => {
  it("runs convolutions on wasm, with Foldwise's convolution gradients in place there", async () => {
    expect(await switchBackend('convolutions')).toBe('wasm');
    for (const name of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) expect(tf.getKernel(name, 'wasm')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc).not.toBe(originalWasmKernel('Conv2DBackpropInput'));
  });

  it("switches to cpu without tfjs's install-our-node-backend banner", async () => {
    const undo = overridePreference('convolutions', ['cpu']);
    const printed: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args.join(' '));
    try {
      expect(await switchBackend('convolutions')).toBe('cpu');
      tf.tidy(() => tf.ones([2, 2]).sum().dataSync());
    } finally {
      console.warn = warn;
      undo();
    }
    expect(printed.join('\n')).not.toMatch(/node backend/);
  });
});
