import type { ExportFormat } from '../../../shared/types';
import { onnxFormat } from './onnx';
import { tfjsFormat } from './tfjs';
import { tfliteFp16Format, tfliteFp32Format } from './tflite';
import type { ModelFormat } from './types';

export type { Loader, LoadOptions, ModelFormat, Runner } from './types';

export const FORMATS: Record<ExportFormat, ModelFormat> = { tfjs: tfjsFormat, onnx: onnxFormat, tflite: tfliteFp32Format, 'tflite-fp16': tfliteFp16Format };
