// metadata.json beside every exported model: everything an outside app needs to feed it and read
// its answer, without knowing anything about Foldwise.
import type { ExportFormat } from '../../shared/types';
import type { BackboneSpec } from '../backbones/catalog';
import type { ResizeRecipe } from '../dataset/decode';
import { appVersion } from '../paths';
import type { RunInfo } from '../run';

export interface ExportMetadata {
  format: ExportFormat;
  /** The file that holds the model (model.json or model.onnx). */
  modelFile: string;
  /** Class names; output index i is the probability of labels[i]. */
  labels: string[];
  input: {
    name: string;
    shape: [null, number, number, 3];
    /** 'image' for Core ML, whose input is a picture (8-bit RGB) rather than an array of numbers. */
    dtype: 'float32' | 'image';
    layout: 'NHWC';
    channels: 'RGB';
    /** Plain pixel values: scaling happens inside the model. */
    range: [0, 255];
    /** How to pass the input where it is not a plain array (Core ML). */
    note?: string;
  };
  output: { name: string; shape: [null, number]; meaning: string };
  /** How to turn a photo into the input square: the exact recipe the app uses. */
  recipe: ResizeRecipe & { description: string };
  /** Applied inside the model (documented so nobody applies it twice). */
  preprocessing: { scale: number; offset: number; insideModel: true };
  backbone: { id: string; name: string; fineTuned: boolean };
  /** Test-time augmentation done inside the model, as the app does it. */
  testTimeAugmentation: 'none' | 'mean of the photo and its left-right mirror';
  metrics: {
    validAccuracy: number | null;
    validLoss: number | null;
    testAccuracy: number | null;
    images: { train: number; valid: number; test: number } | null;
  };
  runId: string;
  createdAt: string;
  appVersion: string;
}

export function describeRecipe(recipe: ResizeRecipe): string {
  return (
    `Apply the photo's EXIF orientation and flatten transparency onto white; resize so the shorter side is ${recipe.size} px ` +
    `and the longer side round(longer * ${recipe.size} / shorter) px (${recipe.interpolation} interpolation); cut the centre ` +
    `${recipe.size}x${recipe.size} square, its top-left corner at round((width - ${recipe.size}) / 2), round((height - ${recipe.size}) / 2); ` +
    `feed RGB values 0-255 as float32, shape [1, ${recipe.size}, ${recipe.size}, 3].`
  );
}

export function buildMetadata(args: {
  format: ExportFormat;
  modelFile: string;
  run: RunInfo;
  spec: BackboneSpec;
  inputName: string;
  outputName: string;
}): ExportMetadata {
  const { run, spec } = args;
  const size = spec.inputSize;
  const image = args.format === 'coreml';
  return {
    format: args.format,
    modelFile: args.modelFile,
    labels: [...run.classes],
    input: {
      name: args.inputName,
      shape: [null, size, size, 3],
      dtype: image ? 'image' : 'float32',
      layout: 'NHWC',
      channels: 'RGB',
      range: [0, 255],
      ...(image ? { note: `a Core ML image of ${size}x${size} (a CVPixelBuffer, or any picture through Vision); the shape and range describe that picture` } : {}),
    },
    output: {
      name: args.outputName,
      shape: [null, run.classes.length],
      meaning: image
        ? "each label's probability, as a dictionary from label to probability (they sum to 1); the output 'label' holds the most likely one"
        : 'class probabilities in label order (they sum to 1)',
    },
    recipe: { ...spec.recipe, description: describeRecipe(spec.recipe) },
    preprocessing: { ...spec.preprocessing, insideModel: true },
    backbone: { id: spec.id, name: spec.name, fineTuned: run.backboneDir !== null },
    testTimeAugmentation: run.tta ? 'mean of the photo and its left-right mirror' : 'none',
    metrics: {
      validAccuracy: run.result.valid.accuracy,
      validLoss: run.result.valid.loss,
      testAccuracy: run.result.test?.accuracy ?? null,
      images: run.result.images,
    },
    runId: run.result.runId,
    createdAt: new Date().toISOString(),
    appVersion: appVersion(),
  };
}
