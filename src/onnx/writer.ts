/** Graph → ONNX ModelProto bytes (protobuf, via onnx-proto's generated encoder). */
import onnxProto from 'onnx-proto';
import { ONNX_DTYPE_CODE, type Attr, type Graph, type ValueInfo } from './graph.js';

const { onnx } = onnxProto;

/** The opset the exporter targets (Resize/Reduce* with `axes` as in opset 18). */
export const OPSET = 18;
/** IR version 8 is what opset 18 files carry. */
const IR_VERSION = 8;

/** A graph input or output with symbolic dimensions (e.g. `'batch'`). */
export interface IoSpec {
  readonly name: string;
  readonly dims: readonly (number | string)[];
}

function attribute(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function valueInfo(v: ValueInfo, dims: readonly (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE_CODE[v.dtype],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Serialises the graph; `io` gives the input/output dims (symbolic where dynamic). */
export function encodeModel(
  graph: Graph,
  io: { inputs: readonly IoSpec[]; outputs: readonly IoSpec[] },
  metadata: Readonly<Record<string, string>>,
  producerVersion: string,
): Uint8Array {
  const dimsOf = (specs: readonly IoSpec[], v: ValueInfo) => specs.find((s) => s.name === v.name)?.dims ?? v.shape;
  const domains = new Set(graph.nodes.map((n) => n.domain ?? ''));
  const model: onnxProto.onnx.IModelProto = {
    irVersion: IR_VERSION,
    producerName: 'msccnet',
    producerVersion,
    opsetImport: [...domains].map((domain) => ({ domain, version: domain === '' ? OPSET : 1 })),
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'msccnet',
      node: graph.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => attribute(k, a)),
      })),
      initializer: [...graph.constants.values()].map((c) => ({
        name: c.name,
        dataType: ONNX_DTYPE_CODE[c.dtype],
        dims: [...c.dims],
        rawData: new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength),
      })),
      input: graph.inputs.map((v) => valueInfo(v, dimsOf(io.inputs, v))),
      output: graph.outputs.map((v) => valueInfo(v, dimsOf(io.outputs, v))),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** The metadata of an ONNX file (key → value), read without building a session. */
export function readMetadata(bytes: Uint8Array): Record<string, string> {
  const model = onnx.ModelProto.decode(bytes);
  return Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
}
