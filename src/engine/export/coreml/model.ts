// A Foldwise classifier as a Core ML model (.mlmodel): a NeuralNetworkClassifier whose input is an
// RGB image, with the backbone's scaling as the image input's preprocessing, the class names as
// string labels, and two outputs: the best label and a dictionary of probabilities.
import { UnsupportedLayerError, type ExportGraph } from '../graph';
import { bodyLayers, layerKind, mirrorLayers, type Layer } from './layers';
import { encodeSpec, type MlModelSpec } from './proto';

/**
 * Core ML specification version Foldwise writes: 4 (Core ML 3: iOS 13, macOS 10.15), the first with
 * the clip layer that ReLU6 needs. Apple's validator does not notice a version set too low for the
 * layers used (older devices would then fail to load the model), so encodeMlmodel checks it.
 */
export const SPEC_VERSION = 4;
/** The oldest specification version that knows each layer kind; kinds not listed are in version 1. */
const LAYER_SINCE: Record<string, number> = { clip: 4 };

export interface CoreMlNames {
  /** The image input ('image'). */
  input: string;
  /** The probabilities dictionary output, also the last blob's name ('probabilities'). */
  probabilities: string;
  /** The best class's name ('label'). */
  label: string;
}

export interface CoreMlDescription {
  /** One line about the model, shown by Xcode. */
  summary: string;
  author: string;
  version: string;
  /** What the input and outputs are, in the user's words (Xcode shows them). */
  inputHelp: string;
  /** Extra key/value notes stored in the model (recipe, backbone, labels...). */
  notes: Record<string, string>;
}

/** The oldest Core ML specification version that has every layer kind in `layers`. */
export function requiredSpecVersion(layers: Layer[]): { version: number; because: string | null } {
  let version = 1;
  let because: string | null = null;
  for (const layer of layers) {
    const since = LAYER_SINCE[layerKind(layer)] ?? 1;
    if (since > version) [version, because] = [since, layerKind(layer)];
  }
  return { version, because };
}

/** The Model message of `graph` as a classifier of `labels`. */
export function classifierSpec(graph: ExportGraph, labels: string[], names: CoreMlNames, about: CoreMlDescription): MlModelSpec {
  const [, height, width, channels] = graph.inputShape as number[];
  if (channels !== 3) throw new UnsupportedLayerError('the input', `Core ML image inputs are RGB (3 channels); this model takes ${channels}`, 'Core ML');
  const answer = graph.nodes.find((n) => n.id === graph.output)!.shape;
  if (answer[answer.length - 1] !== labels.length) {
    throw new Error(`The model gives ${answer[answer.length - 1]} values per photo but has ${labels.length} labels.`);
  }
  const layers: Layer[] = [];
  if (graph.mirrorAverage) {
    // The app's test-time augmentation: the body on the photo and on its mirror, then the mean. Core ML
    // layers cannot share weights, so the body is in the file twice.
    layers.push(...bodyLayers(graph, 'photo', names.input, 'photo/probabilities'));
    layers.push(...mirrorLayers(names.input, 'mirror/image', width!));
    layers.push(...bodyLayers(graph, 'mirror', 'mirror/image', 'mirror/probabilities'));
    layers.push({ name: names.probabilities, input: ['photo/probabilities', 'mirror/probabilities'], output: [names.probabilities], average: {} });
  } else {
    layers.push(...bodyLayers(graph, 'photo', names.input, names.probabilities));
  }
  const pre = graph.preprocessing;
  return {
    specificationVersion: Math.max(SPEC_VERSION, requiredSpecVersion(layers).version),
    description: {
      input: [{ name: names.input, shortDescription: about.inputHelp, type: { imageType: { width, height, colorSpace: 'RGB' } } }],
      output: [
        { name: names.label, shortDescription: 'The most likely class.', type: { stringType: {} } },
        { name: names.probabilities, shortDescription: 'The probability of each class (they sum to 1).', type: { dictionaryType: { stringKeyType: {} } } },
      ],
      predictedFeatureName: names.label,
      predictedProbabilitiesName: names.probabilities,
      metadata: { shortDescription: about.summary, author: about.author, versionString: about.version, userDefined: about.notes },
    },
    neuralNetworkClassifier: {
      layers,
      // x * scale + offset on each RGB value, inside the model, as the app does it.
      preprocessing: pre ? [{ featureName: names.input, scaler: { channelScale: pre.scale, redBias: pre.offset, greenBias: pre.offset, blueBias: pre.offset } }] : [],
      stringClassLabels: { vector: [...labels] },
      labelProbabilityLayerName: names.probabilities,
    },
  };
}

const count = (w: unknown) => ((w as { floatValue?: number[] } | undefined)?.floatValue ?? []).length;
const product = (dims: number[] | undefined) => (dims ?? []).reduce((a, b) => a * Number(b), 1);

/**
 * Foldwise's own checks of a classifier spec before it is written: the specification version covers
 * every layer, every blob is made before it is read and only once, and every weight array has the
 * size its layer declares. Returns the problems found (none: an empty list).
 */
export function checkSpec(spec: MlModelSpec): string[] {
  const problems: string[] = [];
  const nn = spec.neuralNetworkClassifier as { layers: Layer[]; labelProbabilityLayerName: string };
  const version = Number(spec.specificationVersion);
  const needed = requiredSpecVersion(nn.layers);
  if (version < needed.version) {
    problems.push(`it uses the ${needed.because} layer, which needs Core ML specification version ${needed.version} or later, but declares version ${version}; devices with an older Core ML would refuse it`);
  }
  const inputs = (spec.description as { input: { name: string }[] }).input.map((i) => i.name);
  const blobs = new Set(inputs);
  const names = new Set<string>();
  for (const layer of nn.layers) {
    if (names.has(layer.name)) problems.push(`two layers are named "${layer.name}"`);
    names.add(layer.name);
    for (const i of layer.input) if (!blobs.has(i)) problems.push(`layer "${layer.name}" reads "${i}" before anything makes it`);
    for (const o of layer.output) {
      if (blobs.has(o)) problems.push(`layer "${layer.name}" makes "${o}" again`);
      blobs.add(o);
    }
    const p = layer[layerKind(layer)] as Record<string, unknown>;
    const kind = layerKind(layer);
    const expect = (what: string, actual: number, wanted: number) => actual !== wanted && problems.push(`layer "${layer.name}" has ${actual} ${what} values where its shape needs ${wanted}`);
    if (kind === 'convolution') {
      const [kh, kw] = (p.kernelSize as number[]).map(Number);
      expect('weight', count(p.weights), Number(p.outputChannels) * Number(p.kernelChannels) * kh! * kw!);
      if (p.hasBias) expect('bias', count(p.bias), Number(p.outputChannels));
    } else if (kind === 'innerProduct') {
      expect('weight', count(p.weights), Number(p.inputChannels) * Number(p.outputChannels));
      if (p.hasBias) expect('bias', count(p.bias), Number(p.outputChannels));
    } else if (kind === 'scale') {
      expect('scale', count(p.scale), product(p.shapeScale as number[]));
      if (p.hasBias) expect('bias', count(p.bias), product(p.shapeBias as number[]));
    }
  }
  if (!blobs.has(nn.labelProbabilityLayerName)) problems.push(`no layer makes "${nn.labelProbabilityLayerName}", the probabilities`);
  return problems;
}

/** The .mlmodel bytes of `spec`, refused when Foldwise's own checks find a problem. */
export function encodeMlmodel(spec: MlModelSpec): Uint8Array {
  const problems = checkSpec(spec);
  if (problems.length > 0) throw new Error(`Foldwise will not write this Core ML model: ${problems.join('; ')}.`);
  return encodeSpec(spec);
}
