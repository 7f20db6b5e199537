// TFLite model metadata (tflite-support's metadata_schema.fbs, "M001"), the way tflite-support's
// MetadataPopulator writes it for an image classifier: an RGB image input with NormalizationOptions
// and its value range, a probability output whose labels are an associated file (TENSOR_AXIS_LABELS)
// packed as a zip archive after the flatbuffer. MediaPipe's ImageClassifier and the Android
// samples read both. The model takes pixels 0-255 and normalizes inside, so mean 0 and std 1 tell
// them to feed the pixels as they are.
import * as flatbuffers from 'flatbuffers';
import { zipSync } from 'fflate';
import {
  AssociatedFile,
  AssociatedFileType,
  ColorSpaceType,
  Content,
  ContentProperties,
  FeatureProperties,
  ImageProperties,
  ModelMetadata,
  NormalizationOptions,
  ProcessUnit,
  ProcessUnitOptions,
  Stats,
  SubGraphMetadata,
  TensorMetadata,
} from './generated/metadata_schema_generated';

export const LABELS_FILE = 'labels.txt';

export interface ClassifierMetadata {
  name: string;
  description: string;
  version: string;
  author: string;
  labels: string[];
  inputSize: number;
}

/** The ModelMetadata flatbuffer for an image classifier. */
export function classifierMetadata(m: ClassifierMetadata): Uint8Array {
  const b = new flatbuffers.Builder(4096);
  const str = (s: string) => b.createString(s);

  // Input: an RGB image, pixels 0-255 fed as they are.
  const normalization = NormalizationOptions.createNormalizationOptions(b, NormalizationOptions.createMeanVector(b, [0, 0, 0]), NormalizationOptions.createStdVector(b, [1, 1, 1]));
  const units = TensorMetadata.createProcessUnitsVector(b, [ProcessUnit.createProcessUnit(b, ProcessUnitOptions.NormalizationOptions, normalization)]);
  ImageProperties.startImageProperties(b);
  ImageProperties.addColorSpace(b, ColorSpaceType.RGB);
  const image = ImageProperties.endImageProperties(b);
  Content.startContent(b);
  Content.addContentPropertiesType(b, ContentProperties.ImageProperties);
  Content.addContentProperties(b, image);
  const inputContent = Content.endContent(b);
  const inputStats = Stats.createStats(b, Stats.createMaxVector(b, [255]), Stats.createMinVector(b, [0]));
  const inputName = str('image');
  const inputDescription = str(`Photo to classify: RGB, ${m.inputSize}x${m.inputSize}, values 0-255 (resize the shorter side to ${m.inputSize} and cut the centre square).`);
  TensorMetadata.startTensorMetadata(b);
  TensorMetadata.addName(b, inputName);
  TensorMetadata.addDescription(b, inputDescription);
  TensorMetadata.addContent(b, inputContent);
  TensorMetadata.addProcessUnits(b, units);
  TensorMetadata.addStats(b, inputStats);
  const input = TensorMetadata.endTensorMetadata(b);

  // Output: one probability per label, labels in labels.txt.
  const labels = AssociatedFile.createAssociatedFile(b, str(LABELS_FILE), str('Labels for the classes the model can recognize, one per line, in output order.'), AssociatedFileType.TENSOR_AXIS_LABELS, 0, 0);
  const feature = FeatureProperties.createFeatureProperties(b);
  Content.startContent(b);
  Content.addContentPropertiesType(b, ContentProperties.FeatureProperties);
  Content.addContentProperties(b, feature);
  const outputContent = Content.endContent(b);
  const outputStats = Stats.createStats(b, Stats.createMaxVector(b, [1]), Stats.createMinVector(b, [0]));
  const outputFiles = TensorMetadata.createAssociatedFilesVector(b, [labels]);
  const outputName = str('probability');
  const outputDescription = str('Probability of each label (they sum to 1).');
  TensorMetadata.startTensorMetadata(b);
  TensorMetadata.addName(b, outputName);
  TensorMetadata.addDescription(b, outputDescription);
  TensorMetadata.addContent(b, outputContent);
  TensorMetadata.addStats(b, outputStats);
  TensorMetadata.addAssociatedFiles(b, outputFiles);
  const output = TensorMetadata.endTensorMetadata(b);

  const subgraph = SubGraphMetadata.createSubGraphMetadata(
    b,
    0,
    0,
    SubGraphMetadata.createInputTensorMetadataVector(b, [input]),
    SubGraphMetadata.createOutputTensorMetadataVector(b, [output]),
    0,
    0,
    0,
    0,
    0,
    0,
  );
  const name = str(m.name);
  const description = str(m.description);
  const version = str(m.version);
  const author = str(m.author);
  const subgraphs = ModelMetadata.createSubgraphMetadataVector(b, [subgraph]);
  // 1.0.0: this uses no field that came later (MetadataPopulator computes the same).
  const parser = str('1.0.0');
  ModelMetadata.startModelMetadata(b);
  ModelMetadata.addName(b, name);
  ModelMetadata.addDescription(b, description);
  ModelMetadata.addVersion(b, version);
  ModelMetadata.addAuthor(b, author);
  ModelMetadata.addSubgraphMetadata(b, subgraphs);
  ModelMetadata.addMinParserVersion(b, parser);
  b.finish(ModelMetadata.endModelMetadata(b), 'M001');
  return b.asUint8Array();
}

/** The model file with its associated files appended as an uncompressed zip (what readers of TFLite metadata unpack). */
export function withAssociatedFiles(model: Uint8Array, files: Record<string, string>): Uint8Array {
  const zip = zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, [new TextEncoder().encode(text), { level: 0 }]])));
  const out = new Uint8Array(model.length + zip.length);
  out.set(model);
  out.set(zip, model.length);
  return out;
}
