/**
 * safetensors (huggingface/safetensors format): an 8-byte little-endian header length N, N
 * bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {…} }`
 * padded with spaces so that the data starts 8-byte aligned, then the raw little-endian data.
 * Offsets are relative to the data start; tensors must cover it exactly, without overlaps or holes.
 */
import { open } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic.js';
import { torch } from '../torch/torch.js';
import type { DType, Tensor } from '../torch/tensor.js';
import { SafetensorsError } from './errors.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
const fromFileDtype: Record<SafetensorsDtype, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const toFileDtype = Object.fromEntries(Object.entries(fromFileDtype).map(([k, v]) => [v, k])) as Record<DType, SafetensorsDtype>;
const fileDtypeBytes: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** One tensor of a decoded file: its bytes are a view into the file's buffer (no copy). */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}
export interface DecodedSafetensors {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** Largest header accepted (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

/** A tensor's entry in a validated header: its bytes are [begin, end) of the data, which starts at `dataStart`. */
interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}
interface DecodedHeader {
  entries: HeaderEntry[];
  metadata: Record<string, string>;
  dataStart: number;
}

/** The header length a file declares, checked against the limit and the file's length. */
function headerLength(first8: Uint8Array, fileLength: number, fail: (problem: string) => never): number {
  if (fileLength < 8) fail(`${fileLength} bytes is too short for the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const length = Number(n);
  if (8 + length > fileLength) fail(`header length ${length} runs past the end of the ${fileLength}-byte file`);
  return length;
}

/**
 * Parses and validates the header of a `fileLength`-byte file from its first bytes (`prefix`: at
 * least the 8-byte length and the header): every tensor's dtype, shape and byte range, which must
 * cover the data exactly.
 */
function decodeHeader(prefix: Uint8Array, fileLength: number, source: string): DecodedHeader {
  const fail = (problem: string): never => {
    throw new SafetensorsError(source, problem);
  };
  const length = headerLength(prefix, fileLength, fail);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + length)));
  } catch (err) {
    throw new SafetensorsError(source, `header is not valid UTF-8 JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header JSON is not an object');
  const dataStart = 8 + length;
  const dataLength = fileLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor '${name}': entry is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in fileDtypeBytes)) fail(`tensor '${name}': unknown dtype ${JSON.stringify(e.dtype)}`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor '${name}': shape is not a list of non-negative integers`);
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}': data_offsets is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength)
      fail(`tensor '${name}': data_offsets [${begin}, ${end}] out of range of the ${dataLength}-byte data (truncated file?)`);
    const expected = shape.reduce((a, b) => a * b, 1) * fileDtypeBytes[dtype];
    if (end - begin !== expected) fail(`tensor '${name}': ${end - begin} bytes but shape [${shape.join(', ')}] × ${dtype} needs ${expected}`);
    entries.push({ name, dtype, shape, begin, end });
  }
  const spans = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const s of spans) {
    if (s.begin < covered) fail(`tensor '${s.name}' overlaps the previous tensor's bytes (offset ${s.begin} < ${covered})`);
    if (s.begin > covered) fail(`bytes ${covered}…${s.begin} of the data belong to no tensor`);
    covered = s.end;
  }
  if (covered !== dataLength) fail(`the data has ${dataLength - covered} trailing bytes that belong to no tensor`);
  return { entries, metadata, dataStart };
}

/** Parses and validates a safetensors byte buffer; `source` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors buffer'): DecodedSafetensors {
  const { entries, metadata, dataStart } = decodeHeader(bytes, bytes.byteLength, source);
  const tensors = new Map<string, RawTensor>();
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: bytes.subarray(dataStart + e.begin, dataStart + e.end) });
  return { tensors, metadata };
}

/** float16/bfloat16 become float32 (what every op here computes in); other dtypes stay. */
function toTensor(raw: RawTensor): Tensor {
  const dtype = fromFileDtype[raw.dtype];
  const { data } = raw;
  const bytes = fileDtypeBytes[raw.dtype];
  // The typed-array view needs its element alignment; unaligned data (allowed by the format) is copied.
  const aligned = data.byteOffset % bytes === 0 ? data : data.slice();
  const numel = aligned.byteLength / bytes;
  const buffer = aligned.buffer as ArrayBuffer;
  const arr =
    dtype === 'float16' || dtype === 'bfloat16'
      ? new Uint16Array(buffer, aligned.byteOffset, numel)
      : dtype === 'bool'
        ? aligned
        : new (
            {
              float64: Float64Array,
              float32: Float32Array,
              int64: BigInt64Array,
              int32: Int32Array,
              int16: Int16Array,
              int8: Int8Array,
              uint8: Uint8Array,
            } as const
          )[dtype](buffer, aligned.byteOffset, numel);
  return torch.tidy(() => {
    const t = torch.fromTypedArray(arr, raw.shape, dtype);
    return dtype === 'float16' || dtype === 'bfloat16' ? t.to('float32') : t;
  });
}

export interface LoadedSafetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Reads a safetensors file into tensors (float16/bfloat16 → float32). The header is read and
 * checked first, then each tensor's bytes into a buffer of its own that the tensor shares without
 * copying: a checkpoint never becomes one file-sized buffer, which would be fresh memory (faulted in
 * page by page) on every load (docs/performance.md).
 */
export async function loadSafetensors(path: string): Promise<LoadedSafetensors> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const read = async (position: number, length: number): Promise<Uint8Array> => {
      const buffer = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
        if (bytesRead === 0) throw new SafetensorsError(path, `the file ended at ${position + done} bytes while reading (changed while read?)`);
        done += bytesRead;
      }
      return buffer;
    };
    const first8 = await read(0, Math.min(8, size));
    const length = headerLength(first8, size, (problem) => {
      throw new SafetensorsError(path, problem);
    });
    const { entries, metadata, dataStart } = decodeHeader(await read(0, 8 + length), size, path);
    const tensors = new Map<string, Tensor>();
    try {
      for (const e of entries) {
        const data = await read(dataStart + e.begin, e.end - e.begin);
        tensors.set(e.name, toTensor({ dtype: e.dtype, shape: e.shape, data }));
      }
    } catch (err) {
      for (const t of tensors.values()) t.dispose();
      throw err;
    }
    return { tensors, metadata };
  } finally {
    await fh.close();
  }
}

/** As loadSafetensors, from bytes in memory. */
export function fromBytes(bytes: Uint8Array, source = 'safetensors buffer'): LoadedSafetensors {
  const decoded = decodeSafetensors(bytes, source);
  const tensors = new Map<string, Tensor>();
  for (const [name, raw] of decoded.tensors) tensors.set(name, toTensor(raw));
  return { tensors, metadata: decoded.metadata };
}

/** Where each tensor goes in a file: the padded header bytes, the tensors in data order with their byte lengths, the total. */
interface Layout {
  header: Uint8Array;
  order: { tensor: Tensor; bytes: number }[];
  total: number;
}
function layout(tensors: Map<string, Tensor> | Readonly<Record<string, Tensor>>, metadata: Record<string, string> | undefined): Layout {
  const entries = [...(tensors instanceof Map ? tensors : Object.entries(tensors))].map(([name, tensor]) => {
    const dtype = toFileDtype[tensor.dtype];
    return { name, tensor, dtype, shape: tensor.shape, bytes: tensor.numel * fileDtypeBytes[dtype] };
  });
  // data laid out by descending element size, so every tensor is aligned to its own element size
  const order = [...entries].sort((a, b) => fileDtypeBytes[b.dtype] - fileDtypeBytes[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) json.__metadata__ = metadata;
  let offset = 0;
  const offsets = new Map<string, [number, number]>();
  for (const d of order) {
    offsets.set(d.name, [offset, offset + d.bytes]);
    offset += d.bytes;
  }
  for (const d of entries) json[d.name] = { dtype: d.dtype, shape: d.shape, data_offsets: offsets.get(d.name) };
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil((8 + text.byteLength) / 8) * 8 - 8;
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, order: order.map((d) => ({ tensor: d.tensor, bytes: d.bytes })), total: header.byteLength + offset };
}

/** A file's bytes as chunks: the header, then each tensor's data, copied out only when its turn comes. */
function* chunks({ header, order }: Layout, source: string): Generator<Uint8Array> {
  yield header;
  for (const { tensor, bytes } of order) {
    const arr = tensor.toTypedArray();
    if (arr.byteLength !== bytes) throw new SafetensorsError(source, `a tensor gave ${arr.byteLength} bytes where its shape and dtype need ${bytes}`);
    yield new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  }
}

/**
 * Encodes tensors (in the given order of names; data laid out by descending element size so
 * every tensor is aligned to its own element size) with optional string metadata.
 */
export function encodeSafetensors(tensors: Map<string, Tensor> | Readonly<Record<string, Tensor>>, metadata?: Record<string, string>): Uint8Array {
  const plan = layout(tensors, metadata);
  const out = new Uint8Array(plan.total);
  let at = 0;
  for (const chunk of chunks(plan, 'safetensors buffer')) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file atomically and flushed to the disk, into an existing folder
 * (io/atomic.ts). Tensor by tensor: the file never exists as one buffer in memory, which would be
 * fresh memory faulted in page by page on every checkpoint (docs/performance.md).
 */
export async function saveSafetensors(
  path: string,
  tensors: Map<string, Tensor> | Readonly<Record<string, Tensor>>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, chunks(layout(tensors, metadata), path), { fsync: true, createFolder: false });
}
