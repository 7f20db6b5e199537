// The export formats as people choose them: who each is for, in their words, and what they get.
// One list for the Export step and `foldwise export --help`; only formats this version can write
// (ExportFormat) are offered.
import { ExportFormat as ExportFormatSchema } from './schemas';
import type { ExportFormat } from './types';

export interface ExportFormatInfo {
  id: string;
  /** The format's own name. */
  name: string;
  /** Who it is for, in the user's words. */
  audience: string;
  /** One sentence: where it runs and what comes with it. */
  what: string;
}

const ALL: ExportFormatInfo[] = [
  { id: 'tfjs', name: 'TensorFlow.js', audience: 'Websites', what: 'Runs in the web browser, on your visitors’ own devices; comes with a demo page. Also runs in Node.js.' },
  { id: 'onnx', name: 'ONNX', audience: 'Node and Python', what: 'One .onnx file for programs and servers: Python, Node.js, C#, C++, Java.' },
  { id: 'tflite', name: 'TFLite', audience: 'Android', what: 'One .tflite file for Android apps (MediaPipe, LiteRT), labels inside.' },
  { id: 'tflite-fp16', name: 'TFLite, half size', audience: 'Android', what: 'The same for Android at half the size; its answers differ very slightly.' },
  { id: 'tflite-int8', name: 'TFLite, 8-bit', audience: 'Android', what: 'The same for Android at under a third of the size, tuned on your training photos; it may disagree with the app on a few photos near a tie.' },
  { id: 'coreml', name: 'Core ML', audience: 'iPhone and iPad', what: 'One .mlmodel file for iPhone, iPad and Mac apps (Vision, Core ML). Its predictions can only be checked on a Mac.' },
];

const offered = new Set<string>(ExportFormatSchema.options);

/** The formats this version can write, in the order they are offered. */
export const EXPORT_FORMATS: (ExportFormatInfo & { id: ExportFormat })[] = ALL.filter((f): f is ExportFormatInfo & { id: ExportFormat } => offered.has(f.id));

export function exportFormatInfo(id: ExportFormat): ExportFormatInfo {
  return EXPORT_FORMATS.find((f) => f.id === id) ?? { id, name: id, audience: '', what: '' };
}
