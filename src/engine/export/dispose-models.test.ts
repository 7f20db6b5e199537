import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { disposeModels } from './dispose-models';

/** A body applied twice inside an outer model, as the export applies it to a photo and its mirror. */
function twiceApplied(): tf.LayersModel {
  const inner = tf.input({ shape: [4] });
  const body = tf.model({ inputs: inner, outputs: tf.layers.dense({ units: 3 }).apply(inner) as tf.SymbolicTensor });
  const outer = tf.input({ shape: [4] });
  const views = [body.apply(outer) as tf.SymbolicTensor, body.apply(outer) as tf.SymbolicTensor];
  return tf.model({ inputs: outer, outputs: tf.layers.average().apply(views) as tf.SymbolicTensor });
}

describe('disposeModels', () => {
  it('frees the weights of a nested model that LayersModel.dispose() leaves behind', () => {
    const before = tf.memory().numTensors;
    const leaky = twiceApplied();
    leaky.dispose();
    expect(tf.memory().numTensors - before).toBe(2); // tfjs alone: the body's kernel and bias stay
    tf.dispose(leaky.weights.map((w) => w.read()));

    disposeModels(twiceApplied());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('frees a head applied to a backbone\'s output with the backbone', () => {
    const before = tf.memory().numTensors;
    const input = tf.input({ shape: [4] });
    const features = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor });
    const head = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2] })] });
    tf.model({ inputs: features.inputs, outputs: head.apply(features.outputs[0]!) as tf.SymbolicTensor });
    disposeModels(features, head);
    expect(tf.memory().numTensors).toBe(before);
  });
});
