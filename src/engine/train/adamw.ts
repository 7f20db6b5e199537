// AdamW (Loshchilov & Hutter): Adam plus weight decay applied to the weights themselves, not
// folded into the gradient. tfjs has plain Adam only, so decay is one extra multiply per step.
import * as tf from '@tensorflow/tfjs';

export class AdamW extends tf.AdamOptimizer {
  /** Variables whose names match are decayed; biases are left alone, as is usual. */
  private readonly decays: (name: string) => boolean;

  constructor(
    lr: number,
    readonly weightDecay: number,
    { beta1 = 0.9, beta2 = 0.99, epsilon = 1e-5, decays = (name: string) => !/bias/i.test(name) } = {},
  ) {
    super(lr, beta1, beta2, epsilon);
    this.decays = decays;
  }

  /** The schedule changes the learning rate every step. */
  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }

  getLearningRate(): number {
    return this.learningRate;
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (this.weightDecay > 0) {
      const names = Array.isArray(variableGradients) ? variableGradients.map((g) => g.name) : Object.keys(variableGradients);
      const factor = 1 - this.learningRate * this.weightDecay;
      tf.tidy(() => {
        for (const name of names) {
          if (!this.decays(name)) continue;
          const variable = tf.engine().registeredVariables[name];
          if (variable) variable.assign(tf.mul(variable, factor));
        }
      });
    }
    super.applyGradients(variableGradients);
  }
}
