// Grad-CAM (Selvaraju et al. 2017): which parts of a photo pushed the model towards a class.
// The gradient of the class score with respect to the last convolutional activations, averaged over
// space, weighs each channel; the weighted sum of the channels, clipped at zero, is the heatmap.
import * as tf from '@tensorflow/tfjs';
import { argmax } from '../../shared/argmax';

/** A classifier split at its last convolutional layer. */
export interface CamModel {
  /** Model input (pixels) -> last conv activations [N, h, w, channels]. */
  toConv: tf.LayersModel;
  /** Conv activations -> features the head was trained on (global average pooling for our backbones). */
  fromConv(conv: tf.Tensor4D): tf.Tensor2D;
  /** The trained head: features -> class probabilities. */
  head: tf.LayersModel;
}

export interface ClassScores {
  /** Features -> one score per class, differentiable. */
  scores(features: tf.Tensor2D): tf.Tensor2D;
  /**
   * 'logit' when the head ends in a softmax we can step around (the score Grad-CAM is defined on);
   * otherwise 'log-probability', which still ranks evidence the same way but mixes in the other classes.
   */
  kind: 'logit' | 'log-probability';
}

/** The head's pre-softmax class scores when it ends in Dense(softmax) or Activation(softmax). */
export function classScores(head: tf.LayersModel): ClassScores {
  const last = head.layers[head.layers.length - 1];
  const activation = last ? (last.getConfig() as { activation?: unknown }).activation : undefined;
  if (last && activation === 'softmax' && (last.getClassName() === 'Dense' || last.getClassName() === 'Activation')) {
    const lastInput = last.input as tf.SymbolicTensor;
    const body = lastInput === head.inputs[0] ? null : tf.model({ inputs: head.inputs, outputs: lastInput });
    const [kernel, bias] = last.getClassName() === 'Dense' ? last.getWeights() : [];
    return {
      kind: 'logit',
      scores: (features): tf.Tensor2D => {
        const x = body ? (body.apply(features) as tf.Tensor2D) : features;
        if (!kernel) return x; // Activation(softmax): its input already is the logits
        const logits: tf.Tensor2D = tf.matMul(x, kernel as tf.Tensor2D);
        return bias ? tf.add<tf.Tensor2D>(logits, bias) : logits;
      },
    };
  }
  return { kind: 'log-probability', scores: (features) => tf.log(tf.add<tf.Tensor2D>(head.apply(features) as tf.Tensor2D, 1e-7)) };
}

export interface CamResult {
  /** Heatmap on the conv grid, row-major [height, width], scaled so its maximum is 1 (all 0 if nothing pointed to the class). */
  cam: Float32Array;
  height: number;
  width: number;
  /** The model's class probabilities for this image. */
  probabilities: number[];
  /** The class the heatmap explains. */
  classIndex: number;
  scoreKind: ClassScores['kind'];
}

/**
 * Grad-CAM for one image. `input` is what `toConv` takes, shape [1, ...]. Explains `classIndex`, or the
 * class `classIndex` picks from this image's probabilities (found on the way, so no second forward
 * pass), or the predicted class when it is left out. Leaves no tensors behind. Reads back
 * asynchronously, so that it runs on WebGPU too.
 */
export async function gradCam(model: CamModel, input: tf.Tensor4D, classIndex?: number | ((probabilities: number[]) => number)): Promise<CamResult> {
  const { scores, kind } = classScores(model.head);
  const [conv, probs] = tf.tidy(() => {
    const conv = model.toConv.apply(input) as tf.Tensor4D;
    return [conv, model.head.apply(model.fromConv(conv)) as tf.Tensor2D] as const;
  });
  try {
    const [, height, width] = conv.shape;
    const probabilities = Array.from(await probs.data());
    const explained = typeof classIndex === 'function' ? classIndex(probabilities) : (classIndex ?? argmax(probabilities));
    if (!Number.isInteger(explained) || explained < 0 || explained >= probabilities.length) {
      throw new RangeError(`Class index ${explained} is out of range: the model has ${probabilities.length} classes.`);
    }
    const scaled = tf.tidy(() => {
      // A one-hot mask rather than gather: gather's gradient needs UnsortedSegmentSum, which wasm lacks.
      const mask = tf.oneHot([explained], probabilities.length).toFloat();
      const classScore = (a: tf.Tensor) => tf.sum(tf.mul(scores(model.fromConv(a as tf.Tensor4D)), mask));
      const gradients = tf.grad(classScore)(conv);
      const weights = tf.mean(gradients, [1, 2], true); // [1, 1, 1, channels]: how much each channel matters
      const map = tf.relu(tf.sum(tf.mul(conv, weights), -1)).reshape([height!, width!]);
      // Scaled so the peak is 1; a map that is all 0 (nothing pointed to the class) stays 0.
      return tf.div(map, tf.maximum(map.max(), 1e-30));
    });
    const cam = Float32Array.from(await scaled.data());
    scaled.dispose();
    return { cam, height: height!, width: width!, probabilities, classIndex: explained, scoreKind: kind };
  } finally {
    tf.dispose([conv, probs]);
  }
}
