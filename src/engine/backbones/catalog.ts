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

export const DEFAULT_BACKBONE = 'mobilenet_v2_035';

export const BACKBONES: readonly BackboneSpec[] = [
  entry({
    id: 'mobilenet_v2_035',
    name: 'MobileNet V2 (0.35)',
    description: 'Small and fast; the backbone Teachable Machine uses.',
    inputSize: 224,
    featureSize: 1280,
    preprocessing: TO_PLUS_MINUS_ONE,
    // The Teachable Machine export nests the convolutional trunk (a model named 'model2') ending in 'out_relu'.
    featureLayer: 'out_relu',
  }),
  entry({
    id: 'mobilenet_v1_075',
    name: 'MobileNet V1 (0.75)',
    description: 'Larger and usually more accurate; slower to extract.',
    inputSize: 224,
    featureSize: 768,
    preprocessing: TO_PLUS_MINUS_ONE,
    featureLayer: 'conv_pw_13_relu',
  }),
  entry({
    id: 'mobilenet_v1_025',
    name: 'MobileNet V1 (0.25)',
    description: 'Tiny; for quick tries on slow machines.',
    inputSize: 224,
    featureSize: 256,
    preprocessing: TO_PLUS_MINUS_ONE,
    featureLayer: 'conv_pw_13_relu',
  }),
];

export function getBackbone(id: string): BackboneSpec {
  const spec = BACKBONES.find((b) => b.id === id);
  if (!spec) {
    const known = BACKBONES.map((b) => b.id).join(', ');
    throw new EngineError('backbone/unknown', `There is no backbone called "${id}". Choose one of: ${known}.`, { id });
  }
  return spec;
}
