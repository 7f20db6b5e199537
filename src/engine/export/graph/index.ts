// The export graph (see types.ts): built once from a layers model, folded once, written by every format.
import type * as tf from '@tensorflow/tfjs';
import { foldGraph, hoistPreprocessing, type Folded } from './fold';
import { graphFromLayers } from './from-layers';
import type { ExportGraph } from './types';

export * from './types';
export type { Folded } from './fold';

/** The folded graph of `model` (one input, one output); a leading scalar Rescaling becomes its preprocessing. */
export function graphFromModel(model: tf.LayersModel): { graph: ExportGraph; folded: Folded } {
  const { graph, folded } = foldGraph(graphFromLayers(model));
  return { graph: hoistPreprocessing(graph), folded };
}
