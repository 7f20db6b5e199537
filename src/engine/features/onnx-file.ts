// The cache file of a backbone converted to ONNX (onnx-extractor.ts writes it): its format, and the
// checked read that the extractor and its worker threads both use. Apart from onnx-extractor.ts so
// that a worker can read it without loading the converter.
import { readCacheFile, type CacheFormat } from '../cache-file';

/**
 * version: bump when the conversion (ours or the writer's) changes; it is part of the file's name too.
 * Before the header the file was the bare ONNX protobuf, whose first field is ir_version (tag 0x08).
 */
export const ONNX_CONVERSION_FORMAT: CacheFormat = { kind: 'onnx', version: 1, legacy: (bytes) => bytes[0] === 0x08 };

/** The ONNX bytes of a converted backbone, checked; throws when the file fails the check. */
export async function readConvertedBackbone(file: string, key: string): Promise<Uint8Array> {
  const read = await readCacheFile(file, ONNX_CONVERSION_FORMAT, key);
  if (!read.ok) throw new Error(`The backbone converted to ONNX (${file}) is ${read.problem}; Foldwise converts it again on the next run`);
  return read.payload;
}
