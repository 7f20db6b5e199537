// The export graph of a training run: its feature model (fine-tuned or stock) and head as one body,
// the backbone's Rescaling as the graph's preprocessing, and the run's test-time augmentation.
import * as tf from '@tensorflow/tfjs';
import { getBackbone, type BackboneSpec } from '../../backbones/catalog';
import type { RunInfo } from '../../run';
import { loadRunModels } from '../classifier';
import { disposeModels } from '../dispose-models';
import { graphFromModel } from './index';
import type { ExportGraph } from './types';
import { readable } from '../../tensor-read';

export interface RunGraph {
  graph: ExportGraph;
  spec: BackboneSpec;
  labels: string[];
}

/** Loads the run's models, turns them into the folded export graph and frees them again. */
export async function buildRunGraph(run: RunInfo): Promise<RunGraph> {
  const spec = getBackbone(run.backbone);
  const { features, head } = await loadRunModels(run);
  try {
    const probabilities = head.apply(features.outputs[0]!) as tf.SymbolicTensor;
    const model = tf.model({ inputs: features.inputs, outputs: probabilities, name: 'foldwise_classifier' });
    await readable(model.weights.map((w) => w.read())); // the graph reads weights synchronously; on WebGPU that needs this first
    const { graph } = graphFromModel(model);
    // The app averages the photo and its mirror image (test-time augmentation), so every export does too.
    return { graph: { ...graph, mirrorAverage: run.tta }, spec, labels: [...run.classes] };
  } finally {
    disposeModels(features, head);
  }
}
