import { readFile } from 'node:fs/promises';

/** One tensor of a safetensors file, as a typed array over its row-major little-endian data. */
export interface Tensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array | Float32Array | Float64Array | Int32Array;
}

/**
 * Minimal safetensors reader for fixtures (u64 header length, JSON header, data): U8, I32, F32, F64 only.
 * (The library's own reader belongs to src/nn; this one only serves the parity tests.)
 */
export async function readSafetensors(path: string): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const bytes = await readFile(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = entry as Record<string, string>; continue; }
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const raw = bytes.subarray(8 + headerLength + begin, 8 + headerLength + end);
    const copy = new Uint8Array(raw); // aligned copy for the typed-array views
    const view = { U8: () => copy, I32: () => new Int32Array(copy.buffer), F32: () => new Float32Array(copy.buffer), F64: () => new Float64Array(copy.buffer) }[dtype];
    if (view === undefined) throw new Error(`${path}: tensor ${name} has unsupported dtype ${dtype}`);
    tensors.set(name, { dtype, shape, data: view() });
  }
  return { tensors, metadata };
}
