import type { ExportFormat } from '../../../shared/types';
import { coremlFormat } from './coreml';
import { onnxFormat } from './onnx';
import { tfjsFormat } from './tfjs';
import { tfliteFp16Format, tfliteFp32Format, tfliteInt8Format } from './tflite';
import type { ModelFormat } from './types';

export type { Loader, LoadOptions, ModelFormat, Runner, Tolerance } from './types';

export const FORMATS: Record<ExportFormat, ModelFormat> = { tfjs: tfjsFormat, onnx: onnxFormat, coreml: coremlFormat, tflite: tfliteFp32Format, 'tflite-fp16': tfliteFp16Format, 'tflite-int8': tfliteInt8Format };
