import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { ArgumentError } from '../errors.js';
import type { Image } from './image.js';
import { assertSingleChannel, makeImage } from './image.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Ancillary chunks that do not change the pixels sharp hands out. Any other chunk (tRNS adds an alpha channel,
 * iCCP/gAMA/sRGB/cHRM may be colour-managed, eXIf may rotate, …) sends the file to sharp.
 */
const INERT_CHUNKS = new Set(['pHYs', 'tEXt', 'zTXt', 'iTXt', 'tIME']);

/**
 * The common frame format decoded in this thread: an 8-bit, non-interlaced RGB or RGBA PNG with intact CRCs,
 * zlib stream and IEND. Returns null for anything else (other formats, bit depths, palettes, unknown chunks,
 * damage), which the caller hands to sharp, so this path only ever returns what sharp would. Why: sharp's
 * per-call cost (pipeline set-up, a thread-pool hop, libvips' PNG loader) is ~2.5 ms per image whatever its size,
 * most of a 256² frame's decode; zlib inflate plus the unfilter below take a fraction of that.
 */
export function decodePngFast(bytes: Uint8Array): Image | null {
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0,
    height = 0,
    channels = 0,
    ended = false;
  const idat: Uint8Array[] = [];
  for (let at = SIGNATURE.length; at + 12 <= bytes.length && !ended;) {
    const length = view.getUint32(at);
    const end = at + 8 + length;
    if (end + 4 > bytes.length) return null;
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    if (crc32(bytes.subarray(at + 4, end)) !== view.getUint32(end)) return null;
    const data = bytes.subarray(at + 8, end);
    if (type === 'IHDR') {
      if (at !== SIGNATURE.length || length !== 13) return null;
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      const [depth, colour, compression, filter, interlace] = data.subarray(8);
      if (depth !== 8 || compression !== 0 || filter !== 0 || interlace !== 0) return null;
      channels = colour === 2 ? 3 : colour === 6 ? 4 : 0;
      // sharp's default limitInputPixels (16383²): larger images get its error, not a huge allocation here.
      if (channels === 0 || width === 0 || height === 0 || width * height > 16383 * 16383) return null;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
    } else if (!INERT_CHUNKS.has(type)) {
      return null;
    }
    at = end + 4;
  }
  if (!ended || channels === 0 || idat.length === 0) return null;
  const stride = width * channels;
  const expected = (stride + 1) * height;
  let filtered: Uint8Array;
  try {
    filtered = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch {
    return null;
  }
  if (filtered.length !== expected) return null;
  const image = makeImage(width, height, channels);
  return unfilter(filtered, image.data, height, stride, channels) ? image : null;
}

/**
 * Undoes the PNG row filters (None, Sub, Up, Average, Paeth; spec §9) from `raw` (a filter byte, then the row)
 * into `out`. Bytes left of the row and above the first row count as 0; `Uint8Array` stores wrap mod 256.
 * One loop per filter and edge case, so the inner loops carry no tests. False for an unknown filter type.
 */
function unfilter(raw: Uint8Array, out: Uint8Array, height: number, stride: number, bpp: number): boolean {
  for (let y = 0; y < height; y++) {
    const s = y * (stride + 1) + 1,
      o = y * stride,
      p = o - stride;
    const filter = raw[s - 1];
    if (filter === 0 || (filter === 2 && y === 0)) {
      out.set(raw.subarray(s, s + stride), o);
    } else if (filter === 1 || (filter === 4 && y === 0)) {
      // Paeth on the first row is Sub
      for (let x = 0; x < bpp; x++) out[o + x] = raw[s + x];
      for (let x = bpp; x < stride; x++) out[o + x] = raw[s + x] + out[o + x - bpp];
    } else if (filter === 2) {
      for (let x = 0; x < stride; x++) out[o + x] = raw[s + x] + out[p + x];
    } else if (filter === 3 && y === 0) {
      for (let x = 0; x < bpp; x++) out[o + x] = raw[s + x];
      for (let x = bpp; x < stride; x++) out[o + x] = raw[s + x] + (out[o + x - bpp] >> 1);
    } else if (filter === 3) {
      for (let x = 0; x < bpp; x++) out[o + x] = raw[s + x] + (out[p + x] >> 1);
      for (let x = bpp; x < stride; x++) out[o + x] = raw[s + x] + ((out[o + x - bpp] + out[p + x]) >> 1);
    } else if (filter === 4) {
      for (let x = 0; x < bpp; x++) out[o + x] = raw[s + x] + out[p + x]; // Paeth(0, b, 0) = b
      for (let x = bpp; x < stride; x++) {
        const a = out[o + x - bpp],
          b = out[p + x],
          c = out[p + x - bpp];
        // p = a + b − c; |p − a| = |b − c|, |p − b| = |a − c|, |p − c| = |a + b − 2c|; ties go to a, then b.
        const pa = Math.abs(b - c),
          pb = Math.abs(a - c),
          pc = Math.abs(a + b - 2 * c);
        out[o + x] = raw[s + x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
    } else {
      return false;
    }
  }
  return true;
}

/**
 * An 8-bit grey PNG of a 1-channel image (masks, diff maps), encoded in this thread: rows unfiltered (what sharp
 * writes by default) and deflated at `compressionLevel`. Same pixels as `encodePng`, without sharp's per-call
 * cost and thread-pool hop, which were most of a mask's encode time.
 */
export function encodeGrayPng(image: Image, compressionLevel = 6): Buffer {
  assertSingleChannel(image, 'image');
  if (!Number.isInteger(compressionLevel) || compressionLevel < 0 || compressionLevel > 9) {
    throw new ArgumentError('compressionLevel', 'an integer 0–9', compressionLevel);
  }
  const { width, height, data } = image;
  const rows = Buffer.alloc((width + 1) * height); // filter byte 0 (None) before each row
  for (let y = 0; y < height; y++) rows.set(data.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit, grey, deflate, adaptive filtering method, not interlaced
  return Buffer.concat([
    Buffer.from(SIGNATURE),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: compressionLevel })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
