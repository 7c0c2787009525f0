/**
 * The part of the zip format that `torch.save` archives need: the end-of-central-directory
 * record (zip64 too, for archives over 4 GiB), the central directory, and each entry's data
 * located through its local header. torch.save stores entries uncompressed; deflated entries
 * (an archive re-zipped by another tool) are inflated with node:zlib, never past the size the
 * caller allows. Every field is bounds-checked against the file: a hostile archive fails with
 * PthError, never with a DataView RangeError.
 */
import { inflateRawSync } from 'node:zlib';
import { PthError } from './errors.js';

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated */
  readonly method: number;
  readonly compressedSize: number;
  /** the uncompressed size the directory declares */
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Reads the central directory of a zip held in `bytes`; `source` names the file in errors. */
export function readZipDirectory(bytes: Uint8Array, source: string): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (problem: string): never => {
    throw new PthError(source, problem);
  };
  let eocd = -1;
  for (let p = bytes.byteLength - 22; p >= Math.max(0, bytes.byteLength - 22 - 0xffff); p--) {
    if (view.getUint32(p, true) === EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail('truncated archive: no zip end-of-central-directory record (the file was cut short or is not a zip)');
  let count = view.getUint16(eocd + 10, true);
  let dirSize = view.getUint32(eocd + 12, true);
  let dirOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) fail('corrupt archive: zip64 fields without a zip64 locator');
    const record = safeNumber(view.getBigUint64(locator + 8, true), source);
    if (record + 56 > bytes.byteLength || view.getUint32(record, true) !== ZIP64_EOCD) fail('corrupt archive: bad zip64 end-of-central-directory record');
    count = safeNumber(view.getBigUint64(record + 32, true), source);
    dirSize = safeNumber(view.getBigUint64(record + 40, true), source);
    dirOffset = safeNumber(view.getBigUint64(record + 48, true), source);
  }
  const dirEnd = dirOffset + dirSize;
  if (dirEnd > bytes.byteLength)
    fail(`truncated archive: the central directory (${dirOffset}+${dirSize}) runs past the end of the ${bytes.byteLength}-byte file`);
  // every entry takes at least 46 bytes: a count the directory cannot hold is refused before the loop
  if (count * 46 > dirSize) fail(`corrupt archive: ${count} entries cannot fit a ${dirSize}-byte central directory`);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder('utf-8');
  let p = dirOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dirEnd || view.getUint32(p, true) !== CENTRAL) fail(`corrupt archive: central directory entry ${i} is malformed`);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    const extraStart = p + 46 + nameLength;
    const extraEnd = extraStart + extraLength;
    if (extraEnd + commentLength > dirEnd) {
      fail(`corrupt archive: central directory entry ${i} (name ${nameLength}, extra ${extraLength}, comment ${commentLength} bytes) runs past the directory`);
    }
    const name = decoder.decode(bytes.subarray(p + 46, extraStart));
    // zip64 extended information (id 1): the 64-bit values, in order, of the fields set to 0xffffffff
    for (let e = extraStart; e + 4 <= extraEnd;) {
      const id = view.getUint16(e, true);
      const length = view.getUint16(e + 2, true);
      if (e + 4 + length > extraEnd) fail(`corrupt archive: an extra field of '${name}' announces ${length} bytes past the end of its extra data`);
      if (id === 1) {
        let q = e + 4;
        const next = (field: string): number => {
          if (q + 8 > e + 4 + length) fail(`corrupt archive: the zip64 extra field of '${name}' (${length} bytes) is too short for its ${field}`);
          const v = safeNumber(view.getBigUint64(q, true), source);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next('size');
        if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next('header offset');
      }
      e += 4 + length;
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLength;
  }
  return entries;
}

/**
 * The bytes of one entry: a view into `bytes` when stored, a fresh buffer when deflated. An
 * entry whose declared size exceeds `limit` is refused before anything is inflated, and the
 * inflation stops (and is refused) as soon as it passes the declared size: a zip bomb costs
 * at most `limit` bytes.
 */
export function zipEntryData(bytes: Uint8Array, entry: ZipEntry, source: string, limit: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.byteLength || view.getUint32(at, true) !== LOCAL) {
    throw new PthError(source, `corrupt archive: no local header for '${entry.name}' at offset ${at}`);
  }
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.byteLength) throw new PthError(source, `truncated archive: '${entry.name}' runs past the end of the file`);
  if (entry.size > limit) throw new PthError(source, `corrupt archive: '${entry.name}' declares ${entry.size} bytes, more than the ${limit} it may hold`);
  const raw = bytes.subarray(start, end);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size)
      throw new PthError(source, `corrupt archive: stored entry '${entry.name}' holds ${entry.compressedSize} bytes but declares ${entry.size}`);
    return raw;
  }
  if (entry.method !== 8) throw new PthError(source, `unsupported zip compression method ${entry.method} for '${entry.name}' (only stored and deflated)`);
  let out: Uint8Array;
  try {
    // zlib stops (ERR_BUFFER_TOO_LARGE) once the output passes maxOutputLength, without inflating the rest
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
  } catch (err) {
    const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new PthError(
      source,
      tooLarge
        ? `corrupt archive: '${entry.name}' inflates past its declared ${entry.size} bytes (a zip bomb?); refused`
        : `corrupt archive: cannot inflate '${entry.name}' (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
  if (out.byteLength !== entry.size)
    throw new PthError(source, `corrupt archive: '${entry.name}' inflates to ${out.byteLength} bytes, it declares ${entry.size}`);
  return out;
}

function safeNumber(v: bigint, source: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PthError(source, 'corrupt archive: a zip64 field is out of range');
  return Number(v);
}
