/** A small in-memory ONNX graph: what the tracer records and the passes rewrite before writing. */

/** Element types the exporter writes (ONNX TensorProto.DataType names in our spelling). */
export type OnnxDType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE_CODE: Record<OnnxDType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

export type ConstData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

/** An initializer: a constant tensor stored in the file. */
export interface Constant {
  readonly name: string;
  readonly dtype: OnnxDType;
  readonly dims: readonly number[];
  readonly data: ConstData;
  /** A shape operand of Reshape/Expand: the exporter makes its batch entry dynamic. */
  readonly shapeOf?: 'reshape' | 'expand';
}

export type Attr =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string };

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  ints: (value: readonly number[]): Attr => ({ kind: 'ints', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
};

export interface OnnxNode {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

/** A named value with its (traced) shape; `''` names an omitted optional input. */
export interface ValueInfo {
  readonly name: string;
  readonly dtype: OnnxDType;
  readonly shape: readonly number[];
}

/** Nodes in topological order (the order they were traced), initializers, inputs and outputs. */
export class Graph {
  readonly nodes: OnnxNode[] = [];
  readonly constants = new Map<string, Constant>();
  readonly values = new Map<string, ValueInfo>();
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];
  #counter = 0;

  /** A name not used yet, from a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  value(name: string): ValueInfo {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`internal: value ${name} was never defined`);
    return v;
  }

  addConstant(c: Constant): ValueInfo {
    this.constants.set(c.name, c);
    const info = { name: c.name, dtype: c.dtype, shape: [...c.dims] };
    this.values.set(c.name, info);
    return info;
  }

  /** Appends a node whose outputs have the given dtypes and shapes; returns the output infos. */
  addNode(
    op: string,
    inputs: readonly string[],
    outputs: readonly { dtype: OnnxDType; shape: readonly number[] }[],
    attrs: Record<string, Attr> = {},
    domain?: string,
  ): ValueInfo[] {
    const infos = outputs.map((o) => ({ name: this.fresh(op), dtype: o.dtype, shape: [...o.shape] }));
    for (const i of infos) this.values.set(i.name, i);
    this.nodes.push({ op, domain, inputs: [...inputs], outputs: infos.map((i) => i.name), attrs });
    return infos;
  }

  /** Nodes that read each value. */
  consumers(): Map<string, OnnxNode[]> {
    const out = new Map<string, OnnxNode[]>();
    for (const n of this.nodes) for (const i of n.inputs) if (i !== '') out.set(i, [...(out.get(i) ?? []), n]);
    return out;
  }

  /** Drops nodes and constants that no output depends on. */
  prune(): void {
    const needed = new Set(this.outputs.map((o) => o.name));
    const producer = new Map<string, OnnxNode>();
    for (const n of this.nodes) for (const o of n.outputs) producer.set(o, n);
    const live = new Set<OnnxNode>();
    const stack = [...needed];
    while (stack.length > 0) {
      const name = stack.pop()!;
      const n = producer.get(name);
      if (n === undefined || live.has(n)) continue;
      live.add(n);
      for (const i of n.inputs)
        if (i !== '' && !needed.has(i)) {
          needed.add(i);
          stack.push(i);
        }
    }
    const kept = this.nodes.filter((n) => live.has(n));
    this.nodes.splice(0, this.nodes.length, ...kept);
    for (const name of [...this.constants.keys()]) if (!needed.has(name)) this.constants.delete(name);
  }
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** IEEE half-precision bits of a float32 value (round to nearest even; overflow → ±inf). */
export function float16Bits(value: number): number {
  F32[0] = value;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
}

/** A typed array of the dtype holding `values` (int64 as BigInt, float16 as half bits). */
export function constData(dtype: OnnxDType, values: ArrayLike<number>): ConstData {
  const v = Array.from(values);
  switch (dtype) {
    case 'float32':
      return Float32Array.from(v);
    case 'float64':
      return Float64Array.from(v);
    case 'float16':
      return Uint16Array.from(v, float16Bits);
    case 'int64':
      return BigInt64Array.from(v, (x) => BigInt(x));
    case 'int32':
      return Int32Array.from(v);
    case 'int16':
      return Int16Array.from(v);
    case 'int8':
      return Int8Array.from(v);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(v);
  }
}
