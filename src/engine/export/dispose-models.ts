// Frees every weight of tfjs layers models, nested ones included. LayersModel.dispose() frees a
// layer's weights only when its reference count reaches zero, and every apply() adds one: a nested
// model applied twice (the export's body, run on the photo and on its mirror) or a head applied to a
// backbone's output keeps its weights after every model holding it was disposed. Found by
// e2e/long-session.spec.ts: each TF.js export left 114 tensors behind, each export 2.
import type * as tf from '@tensorflow/tfjs';

export function disposeModels(...models: tf.LayersModel[]): void {
  // Read before disposing: a disposed layer's weights can no longer be read.
  const variables = models.flatMap((m) => m.weights.map((w) => w.read()));
  for (const model of models) model.dispose();
  for (const variable of variables) if (!variable.isDisposed) variable.dispose();
}
