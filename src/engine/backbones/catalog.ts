// The ImageNet backbones Foldwise can build on. Each entry says how to feed it, where to cut it,
// where it comes from and how to check that what arrived is what Google published.
import { createHash } from 'node:crypto';
import { EngineError } from '../../shared/rpc';
import manifests from './manifests.json';

/** One file of a backbone, with the size and sha256 it must have (computed from ../shared/weights). */
export interface BackboneFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** How a photo becomes the model's input square (same shape as dataset/decode.ts ResizeRecipe). */
export interface BackboneRecipe {
  size: number;
  resize: 'shorter-side';
  crop: 'center';
  interpolation: 'bilinear';
}

export interface BackboneSpec {
  id: string;
  /** Name shown to people. */
  name: string;
  inputSize: number;
  /** Length of the feature vector the head is trained on. */
  featureSize: number;
  /** Pixels (RGB 0-255) become model input as x * scale + offset. */
  preprocessing: { scale: number; offset: number };
  /** Layer whose activations (then global average pooling) are the features. */
  featureLayer: string;
  /** Last convolutional layer, for Grad-CAM. Here it is the same layer as featureLayer. */
  heatmapLayer: string;
  /** Channels of heatmapLayer (= featureSize, since features are its global average). */
  heatmapChannels: number;
  /** Folder URL (ends with '/') that holds model.json and its weight files. */
  url: string;
  /** sha256 over the file list ("<sha256>  <path>\n" per file, in order), prefixed 'sha256-'. */
  integrity: string;
  files: BackboneFile[];
  /** Folder name of this backbone inside ../shared/weights. */
  sharedFolder: string;
  recipe: BackboneRecipe;
  /** One line for the picker. */
  description: string;
  /**
   * Where top fine-tuning cuts it: the layer whose output feeds the top, so the top is the last blocks
   * at 7x7 (MobileNetV2: blocks 14-16 and Conv_1; MobileNet V1: the last depthwise-pointwise pair).
   * The prototype found a deeper (14x14) cut gave no consistent gain. None for a pair.
   */
  topCut?: string;
  /**
   * A pair: these backbones see the same photo and their features are put side by side (their last
   * convolutional maps joined channel-wise, then averaged). Its files, folder and URL are its parts'.
   */
  parts?: readonly string[];
}

type Manifest = { sharedFolder: string; url: string; files: BackboneFile[] };
const MANIFESTS = manifests as Record<string, Manifest>;

/** The digest of a whole file list: any changed, added or removed file changes it. */
export function manifestDigest(files: BackboneFile[]): string {
  const lines = files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
  return `sha256-${createHash('sha256').update(lines).digest('hex')}`;
}

// MobileNets expect RGB scaled to [-1, 1].
const TO_PLUS_MINUS_ONE = { scale: 1 / 127.5, offset: -1 };

function entry(spec: Omit<BackboneSpec, 'url' | 'integrity' | 'files' | 'sharedFolder' | 'recipe' | 'heatmapLayer' | 'heatmapChannels'>): BackboneSpec {
  const manifest = MANIFESTS[spec.id];
  if (!manifest) throw new Error(`manifests.json has no entry for backbone ${spec.id}`);
  return {
    ...spec,
    heatmapLayer: spec.featureLayer,
    heatmapChannels: spec.featureSize,
    url: manifest.url,
    files: manifest.files,
    integrity: manifestDigest(manifest.files),
    sharedFolder: manifest.sharedFolder,
    recipe: { size: spec.inputSize, resize: 'shorter-side', crop: 'center', interpolation: 'bilinear' },
  };
}

/** The layer that joins a pair's last convolutional maps: its heatmap and feature layer. */
export const PAIR_LAYER = 'side_by_side';

/**
 * Why pairs: on re-splits of the three shared photo sets, a head on both MobileNets' features beat
 * either alone (docs/BENCHMARKS.md "Two backbones side by side"); each set preferred a different one.
 */
function pair(id: string, name: string, description: string, parts: BackboneSpec[]): BackboneSpec {
  const [first] = parts;
  if (!first || parts.some((p) => p.inputSize !== first.inputSize || JSON.stringify(p.preprocessing) !== JSON.stringify(first.preprocessing))) {
    throw new Error(`The parts of backbone ${id} must take the same input`);
  }
  const featureSize = parts.reduce((sum, p) => sum + p.featureSize, 0);
  const files = parts.flatMap((p) => p.files.map((f) => ({ ...f, path: `${p.id}/${f.path}` })));
  return {
    id,
    name,
    description,
    inputSize: first.inputSize,
    featureSize,
    preprocessing: first.preprocessing,
    featureLayer: PAIR_LAYER,
    heatmapLayer: PAIR_LAYER,
    heatmapChannels: featureSize,
    url: first.url,
    integrity: manifestDigest(files),
    files,
    sharedFolder: first.sharedFolder,
    recipe: first.recipe,
    parts: parts.map((p) => p.id),
  };
}

const SINGLE_BACKBONES: readonly BackboneSpec[] = [
  entry({
    id: 'mobilenet_v2_035',
    name: 'MobileNet V2 (0.35)',
    description: 'Small and fast, the one Teachable Machine uses. Its last layers can be fine-tuned to your photos.',
    inputSize: 224,
    featureSize: 1280,
    preprocessing: TO_PLUS_MINUS_ONE,
    // The Teachable Machine export nests the convolutional trunk (a model named 'model2') ending in 'out_relu'.
    featureLayer: 'out_relu',
    topCut: 'block_13_project_BN',
  }),
  entry({
    id: 'mobilenet_v1_075',
    name: 'MobileNet V1 (0.75)',
    description: 'Larger: more accurate than V2 (0.35) on some photo sets, less on others.',
    inputSize: 224,
    featureSize: 768,
    preprocessing: TO_PLUS_MINUS_ONE,
    featureLayer: 'conv_pw_13_relu',
    topCut: 'conv_pw_12_relu',
  }),
  entry({
    id: 'mobilenet_v1_025',
    name: 'MobileNet V1 (0.25)',
    description: 'Tiny; for quick tries on slow machines.',
    inputSize: 224,
    featureSize: 256,
    preprocessing: TO_PLUS_MINUS_ONE,
    featureLayer: 'conv_pw_13_relu',
    topCut: 'conv_pw_12_relu',
  }),
];

export const BACKBONES: readonly BackboneSpec[] = [
  pair('mobilenet_pair', 'Both MobileNets (V2 0.35 + V1 0.75)', 'The most accurate on every photo set tried. Preparing photos takes about twice as long, and its last layers cannot be fine-tuned on their own.', [
    SINGLE_BACKBONES[0]!,
    SINGLE_BACKBONES[1]!,
  ]),
  ...SINGLE_BACKBONES,
];

/** Whether top fine-tuning can cut it (a pair cannot: it has no last layers of its own). */
export function canTuneTop(spec: BackboneSpec): boolean {
  return spec.topCut !== undefined;
}

/** Bytes of all its files: what a download fetches, and what a fine-tuned copy adds to a run folder. */
export function backboneBytes(spec: BackboneSpec): number {
  return spec.files.reduce((sum, f) => sum + f.bytes, 0);
}

export function getBackbone(id: string): BackboneSpec {
  const spec = BACKBONES.find((b) => b.id === id);
  if (!spec) {
    const known = BACKBONES.map((b) => b.id).join(', ');
    throw new EngineError('backbone/unknown', `There is no backbone called "${id}". Choose one of: ${known}.`, { id });
  }
  return spec;
}
