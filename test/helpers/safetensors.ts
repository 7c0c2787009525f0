import { readFile } from 'node:fs/promises';

/** One tensor of a safetensors file: its dtype, shape and a typed view (copied, so always aligned). */
export type TestTensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'F64'; shape: number[]; data: Float64Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'I64'; shape: number[]; data: BigInt64Array }
  | { dtype: 'U8'; shape: number[]; data: Uint8Array };

export interface TestSafetensors {
  tensors: Map<string, TestTensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: TestTensor['dtype'];
  shape: number[];
  data_offsets: [number, number];
}

/**
 * Minimal safetensors reader for fixtures (format in ../shared/fixtures/README.md), kept in
 * test/ so tests do not depend on the library's own reader. Little-endian host assumed.
 */
export async function readSafetensors(path: string): Promise<TestSafetensors> {
  const buf = await readFile(path);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, TestTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = value as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = value as HeaderEntry;
    // a copy into a fresh ArrayBuffer (Buffer#slice would share the pool), so the views below are aligned
    const bytes = new Uint8Array(buf.subarray(dataStart + begin, dataStart + end));
    const ab = bytes.buffer;
    switch (dtype) {
      case 'F32':
        tensors.set(name, { dtype, shape, data: new Float32Array(ab, 0, bytes.length / 4) });
        break;
      case 'F64':
        tensors.set(name, { dtype, shape, data: new Float64Array(ab, 0, bytes.length / 8) });
        break;
      case 'I32':
        tensors.set(name, { dtype, shape, data: new Int32Array(ab, 0, bytes.length / 4) });
        break;
      case 'I64':
        tensors.set(name, { dtype, shape, data: new BigInt64Array(ab, 0, bytes.length / 8) });
        break;
      case 'U8':
        tensors.set(name, { dtype, shape, data: new Uint8Array(ab, 0, bytes.length) });
        break;
      default:
        throw new Error(`${path}: tensor ${name} has unsupported dtype ${String(dtype)}`);
    }
  }
  return { tensors, metadata };
}

/** The named tensor, checked to have the given dtype. */
export function tensorOf<D extends TestTensor['dtype']>(file: TestSafetensors, name: string, dtype: D): Extract<TestTensor, { dtype: D }> {
  const t = file.tensors.get(name);
  if (t === undefined) throw new Error(`tensor ${name} missing from fixture`);
  if (t.dtype !== dtype) throw new Error(`tensor ${name} is ${t.dtype}, expected ${dtype}`);
  return t as Extract<TestTensor, { dtype: D }>;
}
