// Apple's Core ML protobuf schema (coremltools' mlmodel/format/*.proto, BSD-3-Clause, see
// LICENSE-coremltools), as the protobufjs JSON descriptor that scripts/coreml-proto.mjs made from them.
import protobuf from 'protobufjs';
import descriptor from './coreml-proto.json';

let model: protobuf.Type | null = null;

/** The CoreML.Specification.Model message type. */
export function modelType(): protobuf.Type {
  model ??= protobuf.Root.fromJSON(descriptor as protobuf.INamespace).lookupType('CoreML.Specification.Model');
  return model;
}

/** A Core ML Model message as plain objects (field names as in Apple's .proto files). */
export type MlModelSpec = Record<string, unknown>;

export function encodeSpec(spec: MlModelSpec): Uint8Array {
  const type = modelType();
  const message = type.fromObject(spec); // enum names become numbers here
  const problem = type.verify(message);
  if (problem) throw new Error(`Foldwise wrote a Core ML description that does not fit Apple's schema: ${problem}`);
  return type.encode(message).finish();
}

export function decodeSpec(bytes: Uint8Array): MlModelSpec {
  const type = modelType();
  return type.toObject(type.decode(bytes), { defaults: false, arrays: true, longs: Number, enums: String, oneofs: true }) as MlModelSpec;
}
