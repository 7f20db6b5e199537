// The training step the fine-tuning benches time (bench/fine-tune.ts on the CPU, bench/gpu.ts on
// WebGPU): gradients of the head's loss for variables in groups, then one AdamW update per group,
// as train/fine-tune.ts does with a whole batch in one slice.
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../src/engine/train/adamw';
import { TRAIN_DEFAULTS } from '../src/engine/train/defaults';

/**
 * One training step. Returns once the update has been computed: it reads the loss and then the last
 * group's first variable back (asynchronously: WebGPU in Node has no synchronous read). A GPU runs
 * its queue in order, so that read waits for every kernel of the step, the AdamW updates included.
 */
export async function trainingStep(loss: () => tf.Scalar, groups: { variables: tf.Variable[] }[], optimizers: AdamW[]): Promise<number> {
  const value = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(loss, groups.flatMap((g) => g.variables));
    groups.forEach((g, i) => optimizers[i]!.applyGradients(g.variables.map((v) => ({ name: v.name, tensor: grads[v.name]! }))));
    return value;
  });
  try {
    const [lossValue] = await value.data();
    await groups.at(-1)!.variables[0]!.data();
    return lossValue!;
  } finally {
    value.dispose();
  }
}

/** One AdamW per group, with a small learning rate: the timing must not depend on the weights drifting. */
export function optimizersFor(groups: unknown[]): AdamW[] {
  return groups.map(() => {
    const o = new AdamW(0, TRAIN_DEFAULTS.weightDecay);
    o.setLearningRate(1e-5);
    return o;
  });
}

/** Wall seconds and CPU seconds of `runs` steps after `warmUp` untimed ones (allocations, shader compilation). */
export async function timeSteps(step: () => Promise<unknown>, runs: number, warmUp = 1): Promise<{ seconds: number[]; cpuSeconds: number[]; warmUpSeconds: number[] }> {
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  const warmUpSeconds: number[] = [];
  for (let r = 0; r < warmUp + runs; r++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await step();
    const used = process.cpuUsage(cpu);
    const wall = (performance.now() - started) / 1000;
    if (r < warmUp) warmUpSeconds.push(wall);
    else {
      seconds.push(wall);
      cpuSeconds.push((used.user + used.system) / 1e6);
    }
  }
  return { seconds, cpuSeconds, warmUpSeconds };
}
