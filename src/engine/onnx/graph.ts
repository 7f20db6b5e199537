// A small builder over the generated ONNX schema (onnx-proto): named nodes, constant initializers
// and the final ModelProto. Bytes come from protobufjs, never from hand encoding.
import { onnx } from 'onnx-proto';

const { AttributeType } = onnx.AttributeProto;
const { DataType } = onnx.TensorProto;

export type AttributeValue = number | number[] | string | { ints: number[] } | { float: number };

export interface ValueInfo {
  name: string;
  /** null for a dimension that can vary (the batch). */
  shape: (number | null)[];
}

export class OnnxGraph {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();

  /** A name not used yet in this graph, derived from `hint` (ONNX needs every value name unique). */
  name(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name chosen by the caller (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX value name "${name}" is used twice`);
    this.used.add(name);
    return name;
  }

  floats(hint: string, data: ArrayLike<number>, dims: number[]): string {
    const name = this.name(hint);
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, rawData: bytesOf(values) });
    return name;
  }

  ints(hint: string, data: number[], dims: number[] = [data.length]): string {
    const name = this.name(hint);
    const values = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.initializers.push({ name, dataType: DataType.INT64, dims, rawData: bytesOf(values) });
    return name;
  }

  /** Adds one node with a single output and returns the output's name. */
  node(op: string, inputs: string[], hint: string, attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const out = output ?? this.name(hint);
    this.nodes.push({
      opType: op,
      name: this.name(`${hint}/${op}`),
      input: inputs,
      output: [out],
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return out;
  }

  /** Serializes the graph into a ModelProto. */
  toBytes(opts: {
    graphName: string;
    inputs: ValueInfo[];
    outputs: ValueInfo[];
    opset: number;
    producerName: string;
    producerVersion: string;
    docString?: string;
    metadata?: Record<string, string>;
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      // IR version 7 is the one that goes with opset 13; runtimes accept it for later opsets too.
      irVersion: opts.opset >= 15 ? 8 : 7,
      opsetImport: [{ domain: '', version: opts.opset }],
      producerName: opts.producerName,
      producerVersion: opts.producerVersion,
      docString: opts.docString ?? '',
      graph: {
        name: opts.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: opts.inputs.map(valueInfo),
        output: opts.outputs.map(valueInfo),
      },
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function bytesOf(values: Float32Array | BigInt64Array): Uint8Array {
  // ONNX raw data is little-endian; typed arrays on every platform Node runs on are too.
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    return { name, type: AttributeType.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INTS, ints: value.ints };
}

function valueInfo(v: ValueInfo): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: v.shape.map((d) => (d === null ? { dimParam: 'N' } : { dimValue: d })) },
      },
    },
  };
}
