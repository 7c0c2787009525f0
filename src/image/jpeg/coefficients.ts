/**
 * A JPEG's quantised DCT coefficients and quantisation tables, read from the bitstream as libjpeg's
 * `jpeg_read_coefficients` reads them (what jpegio, and so CAT-Net's loader, returns): Huffman-coded
 * baseline, extended (8-bit) and progressive frames, any sampling, restart intervals. Pure
 * TypeScript on a Uint8Array, so Node and the page run the same code. Every damaged, hostile or
 * unsupported file gives a JpegError from the headers or the data, never a partial result; work
 * and memory are bounded by the declared size, which is checked against `maxPixels` first.
 */
import { DEFAULT_MAX_PIXELS } from '../limits.js';
import { corrupt, JpegError } from './error.js';
import { buildHuffmanTable, EntropyReader, type HuffmanTable } from './huffman.js';

/** ZIGZAG[k] = natural (row-major) index of the k-th coefficient in zigzag order (T.81 Figure 5). */
const ZIGZAG: readonly number[] = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22,
  15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/** A progressive file may have any number of scans; each walks its components' blocks, so more than this is refused as a time bomb (libjpeg's default script has 10, jpegtran's largest few dozen). */
const MAX_SCANS = 256;

export type JpegCoding = 'baseline' | 'extended' | 'progressive';

export interface JpegComponent {
  /** the component identifier of the frame header (1, 2, 3 for JFIF Y, Cb, Cr) */
  readonly id: number;
  /** horizontal and vertical sampling factors (1–4) */
  readonly h: number;
  readonly v: number;
  /** which quantisation table (0–3) the component uses: libjpeg's `quant_tbl_no` */
  readonly quantTableIndex: number;
  /** that table as it was when the component's first scan began (libjpeg latches it there), natural order */
  readonly quantTable: Uint16Array;
  /** libjpeg's `width_in_blocks` = ceil(ceil(W·h/hmax)/8): the component's own blocks, not padded to whole MCUs */
  readonly widthInBlocks: number;
  readonly heightInBlocks: number;
  /**
   * Quantised coefficients, Int16 [8·heightInBlocks, 8·widthInBlocks] row-major: block (by, bx)
   * covers rows 8by..8by+7 and columns 8bx..8bx+7, natural order inside (row = vertical
   * frequency). jpegio's `coef_arrays[c]` layout.
   */
  readonly coefficients: Int16Array;
}

export interface JpegCoefficients {
  readonly coding: JpegCoding;
  readonly width: number;
  readonly height: number;
  readonly components: readonly JpegComponent[];
  /** the four table slots as the file leaves them (jpegio's `quant_tables` by index), natural order; null where none was defined */
  readonly quantTables: readonly (Uint16Array | null)[];
}

export interface ReadJpegOptions {
  /** largest width × height accepted, checked from the frame header before any allocation (default DEFAULT_MAX_PIXELS, `--max-megapixels`) */
  readonly maxPixels?: number;
}

const UNSUPPORTED: Record<number, string> = {
  0xc3: 'lossless (SOF3)',
  0xc5: 'hierarchical sequential (SOF5)',
  0xc6: 'hierarchical progressive (SOF6)',
  0xc7: 'hierarchical lossless (SOF7)',
  0xc9: 'arithmetic-coded sequential (SOF9)',
  0xca: 'arithmetic-coded progressive (SOF10)',
  0xcb: 'arithmetic-coded lossless (SOF11)',
  0xcd: 'arithmetic-coded hierarchical sequential (SOF13)',
  0xce: 'arithmetic-coded hierarchical progressive (SOF14)',
  0xcf: 'arithmetic-coded hierarchical lossless (SOF15)',
};

function unsupportedMode(marker: number): JpegError {
  const mode = UNSUPPORTED[marker];
  // arithmetic → Huffman is lossless (same coefficients); the other modes need a real re-encode
  const hint =
    marker >= 0xc9 && marker !== 0xcb && marker !== 0xcf
      ? 're-encode it as a baseline JPEG; `jpegtran in.jpg > out.jpg` converts it to Huffman coding and keeps its coefficients'
      : 're-encode it as a baseline JPEG';
  return new JpegError('unsupported', `the file is a ${mode} JPEG; only Huffman-coded baseline, extended and progressive JPEGs are read`, hint);
}

interface FrameComponent {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
  readonly widthInBlocks: number;
  readonly heightInBlocks: number;
  readonly coefficients: Int16Array;
  /** zigzag index → offset inside a block of `coefficients` (row stride 8·widthInBlocks) */
  readonly zigzagOffsets: Int32Array;
  quantTable: Uint16Array | null;
  /** DC predictor of the running scan */
  pred: number;
  dcTable: HuffmanTable | null;
  acTable: HuffmanTable | null;
}

interface Frame {
  readonly coding: JpegCoding;
  readonly width: number;
  readonly height: number;
  readonly hmax: number;
  readonly vmax: number;
  readonly components: FrameComponent[];
}

/** One scan's parameters (T.81 B.2.3). */
interface Scan {
  readonly components: FrameComponent[];
  /** spectral selection start and end, zigzag indices */
  readonly ss: number;
  readonly se: number;
  /** successive approximation: previous and current point transform */
  readonly ah: number;
  readonly al: number;
}

/** Where MCU blocks outside a component's own grid go (the padding of the last MCU row and column): decoded, then dropped. */
const NATURAL_OFFSETS = Int32Array.from(ZIGZAG);

/** Reads `bytes` as a JPEG and returns every component's quantised coefficients and tables. */
export function readJpegCoefficients(bytes: Uint8Array, options: ReadJpegOptions = {}): JpegCoefficients {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    throw new JpegError('corrupt', 'the data does not start with a JPEG SOI marker (FF D8): not a JPEG', 'pass the bytes of a JPEG file');
  }
  const quantTables: (Uint16Array | null)[] = [null, null, null, null];
  const dcTables: (HuffmanTable | null)[] = [null, null, null, null];
  const acTables: (HuffmanTable | null)[] = [null, null, null, null];
  let frame: Frame | null = null;
  let restartInterval = 0;
  let scans = 0;
  let pos = 2;
  for (;;) {
    const found = nextMarker(bytes, pos);
    if (found < 0) throw corrupt('the file ends before its EOI marker (truncated)');
    const marker = bytes[found];
    pos = found + 1;
    if (marker === 0xd9) break; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // TEM, stray RSTn: no segment (libjpeg skips them too)
    if (marker === 0xd8) throw corrupt('a second SOI marker inside the file');
    if (marker < 0xc0) throw corrupt(`unknown marker FF ${hex(marker)}`);
    if (pos + 2 > bytes.length) throw corrupt('the file ends inside a marker segment (truncated)');
    const length = (bytes[pos] << 8) | bytes[pos + 1];
    const end = pos + length;
    if (length < 2 || end > bytes.length) throw corrupt(`marker FF ${hex(marker)} declares ${length} bytes, past the end of the file (truncated or corrupt)`);
    const start = pos + 2;
    pos = end;
    switch (marker) {
      case 0xdb:
        readQuantTables(bytes, start, end, quantTables);
        break;
      case 0xc4:
        readHuffmanTables(bytes, start, end, dcTables, acTables);
        break;
      case 0xdd:
        if (length !== 4) throw corrupt(`a DRI segment of ${length} bytes (must be 4)`);
        restartInterval = (bytes[start] << 8) | bytes[start + 1];
        break;
      case 0xc0:
      case 0xc1:
      case 0xc2:
        if (frame !== null) throw corrupt('a second frame header (SOF) in one file');
        frame = readFrame(bytes, start, end, marker, maxPixels);
        break;
      case 0xda: {
        if (frame === null) throw corrupt('a scan (SOS) before the frame header (SOF)');
        if (++scans > MAX_SCANS) throw corrupt(`more than ${MAX_SCANS} scans`);
        const scan = readScan(bytes, start, end, frame, quantTables, dcTables, acTables);
        pos = decodeScan(bytes, end, frame, scan, restartInterval);
        break;
      }
      default:
        if (UNSUPPORTED[marker] !== undefined) throw unsupportedMode(marker);
      // APPn, COM, DNL, DAC, JPGn and the rest carry nothing the coefficients need
    }
  }
  if (frame === null) throw corrupt('no frame header (SOF) before EOI');
  const components = frame.components.map((c): JpegComponent => {
    if (c.quantTable === null) throw corrupt(`component ${c.id} appears in no scan (incomplete file)`);
    return {
      id: c.id,
      h: c.h,
      v: c.v,
      quantTableIndex: c.tq,
      quantTable: c.quantTable,
      widthInBlocks: c.widthInBlocks,
      heightInBlocks: c.heightInBlocks,
      coefficients: c.coefficients,
    };
  });
  return { coding: frame.coding, width: frame.width, height: frame.height, components, quantTables };
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * Index of the code byte of the first marker at or after `pos` (skipping fill bytes 0xFF and any
 * stray data, as libjpeg's next_marker does), or −1 at the end of the file.
 */
function nextMarker(bytes: Uint8Array, pos: number): number {
  const n = bytes.length;
  while (pos < n) {
    if (bytes[pos] !== 0xff) {
      pos++;
      continue;
    }
    let q = pos + 1;
    while (q < n && bytes[q] === 0xff) q++;
    if (q >= n) return -1;
    if (bytes[q] !== 0) return q;
    pos = q + 1;
  }
  return -1;
}

/** DQT (T.81 B.2.4.1): 8- or 16-bit tables in zigzag order, stored in natural order. */
function readQuantTables(bytes: Uint8Array, p: number, end: number, tables: (Uint16Array | null)[]): void {
  while (p < end) {
    const precision = bytes[p] >> 4;
    const index = bytes[p] & 15;
    if (precision > 1 || index > 3) throw corrupt(`a DQT table with precision ${precision} and index ${index} (expected 0–1 and 0–3)`);
    const size = precision === 0 ? 1 : 2;
    if (p + 1 + 64 * size > end) throw corrupt('a DQT segment shorter than its tables');
    const table = new Uint16Array(64);
    for (let k = 0; k < 64; k++) {
      const q = p + 1 + k * size;
      table[ZIGZAG[k]] = size === 1 ? bytes[q] : (bytes[q] << 8) | bytes[q + 1];
    }
    tables[index] = table;
    p += 1 + 64 * size;
  }
}

/** DHT (T.81 B.2.4.2). */
function readHuffmanTables(bytes: Uint8Array, p: number, end: number, dcTables: (HuffmanTable | null)[], acTables: (HuffmanTable | null)[]): void {
  while (p < end) {
    const tableClass = bytes[p] >> 4;
    const index = bytes[p] & 15;
    if (tableClass > 1 || index > 3) throw corrupt(`a DHT table with class ${tableClass} and index ${index} (expected 0–1 and 0–3)`);
    if (p + 17 > end) throw corrupt('a DHT segment shorter than its tables');
    const counts = bytes.subarray(p + 1, p + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > 256) throw corrupt(`a Huffman table with ${total} codes (at most 256)`);
    if (p + 17 + total > end) throw corrupt('a DHT segment shorter than its tables');
    const table = buildHuffmanTable(counts, bytes.subarray(p + 17, p + 17 + total), tableClass === 0);
    (tableClass === 0 ? dcTables : acTables)[index] = table;
    p += 17 + total;
  }
}

/** SOF0/1/2 (T.81 B.2.2): the frame's size and components; allocates the coefficient arrays once the size passed `maxPixels`. */
function readFrame(bytes: Uint8Array, p: number, end: number, marker: number, maxPixels: number): Frame {
  if (end - p < 6) throw corrupt('a frame header (SOF) shorter than 6 bytes');
  const precision = bytes[p];
  const height = (bytes[p + 1] << 8) | bytes[p + 2];
  const width = (bytes[p + 3] << 8) | bytes[p + 4];
  const count = bytes[p + 5];
  if (precision !== 8) {
    throw new JpegError('unsupported', `the file has ${precision}-bit samples; only 8-bit JPEGs are read`, 're-encode it as an 8-bit baseline JPEG');
  }
  if (width === 0 || height === 0) throw corrupt(`the frame is ${width}×${height} pixels (a height defined later by DNL is not supported)`);
  if (width * height > maxPixels) {
    throw new JpegError(
      'too-large',
      `the image is ${width}×${height} pixels, more than the limit of ${maxPixels / 1e6} megapixels`,
      'downscale it first, or raise --max-megapixels',
    );
  }
  if (count < 1 || count > 4) {
    throw new JpegError('unsupported', `the frame has ${count} components; 1 to 4 are read`, 're-encode it as a grayscale or colour JPEG');
  }
  if (end - p !== 6 + 3 * count) throw corrupt(`a frame header of ${end - p + 2} bytes for ${count} components`);
  const specs: Array<{ id: number; h: number; v: number; tq: number }> = [];
  for (let i = 0; i < count; i++) {
    const q = p + 6 + 3 * i;
    const spec = { id: bytes[q], h: bytes[q + 1] >> 4, v: bytes[q + 1] & 15, tq: bytes[q + 2] };
    if (spec.h < 1 || spec.h > 4 || spec.v < 1 || spec.v > 4) throw corrupt(`component ${spec.id} has sampling factors ${spec.h}×${spec.v} (each must be 1–4)`);
    if (spec.tq > 3) throw corrupt(`component ${spec.id} uses quantisation table ${spec.tq} (0–3)`);
    if (specs.some((s) => s.id === spec.id)) throw corrupt(`two components with the id ${spec.id}`);
    specs.push(spec);
  }
  const hmax = Math.max(...specs.map((s) => s.h));
  const vmax = Math.max(...specs.map((s) => s.v));
  const components = specs.map((s): FrameComponent => {
    const widthInBlocks = Math.ceil((width * s.h) / (hmax * 8));
    const heightInBlocks = Math.ceil((height * s.v) / (vmax * 8));
    const stride = 8 * widthInBlocks;
    return {
      ...s,
      widthInBlocks,
      heightInBlocks,
      coefficients: new Int16Array(64 * widthInBlocks * heightInBlocks),
      zigzagOffsets: Int32Array.from(ZIGZAG, (n) => (n >> 3) * stride + (n & 7)),
      quantTable: null,
      pred: 0,
      dcTable: null,
      acTable: null,
    };
  });
  const coding = marker === 0xc2 ? 'progressive' : marker === 0xc1 ? 'extended' : 'baseline';
  return { coding, width, height, hmax, vmax, components };
}

/** SOS (T.81 B.2.3): the scan's components, their tables and its spectral and successive-approximation parameters, checked against the frame. */
function readScan(
  bytes: Uint8Array,
  p: number,
  end: number,
  frame: Frame,
  quantTables: readonly (Uint16Array | null)[],
  dcTables: readonly (HuffmanTable | null)[],
  acTables: readonly (HuffmanTable | null)[],
): Scan {
  const count = bytes[p];
  if (count < 1 || count > 4 || end - p !== 4 + 2 * count) throw corrupt(`a scan header (SOS) of ${end - p + 2} bytes for ${count} components`);
  const ss = bytes[p + 1 + 2 * count];
  const se = bytes[p + 2 + 2 * count];
  const ah = bytes[p + 3 + 2 * count] >> 4;
  const al = bytes[p + 3 + 2 * count] & 15;
  const progressive = frame.coding === 'progressive';
  if (progressive) {
    const valid = ss === 0 ? se === 0 : se >= ss && se <= 63 && count === 1;
    if (!valid || ah > 13 || al > 13) throw corrupt(`a progressive scan with Ss=${ss} Se=${se} Ah=${ah} Al=${al} over ${count} components`);
  }
  const dcNeeded = !progressive || (ss === 0 && ah === 0);
  const acNeeded = !progressive || ss > 0;
  const components: FrameComponent[] = [];
  let blocksPerMcu = 0;
  for (let i = 0; i < count; i++) {
    const id = bytes[p + 1 + 2 * i];
    const c = frame.components.find((fc) => fc.id === id);
    if (c === undefined) throw corrupt(`a scan names component ${id}, which the frame does not have`);
    if (components.includes(c)) throw corrupt(`a scan names component ${id} twice`);
    const td = bytes[p + 2 + 2 * i] >> 4;
    const ta = bytes[p + 2 + 2 * i] & 15;
    c.dcTable = dcNeeded ? (dcTables[td] ?? null) : null;
    c.acTable = acNeeded ? (acTables[ta] ?? null) : null;
    if (dcNeeded && c.dcTable === null) throw corrupt(`component ${id}'s scan uses DC Huffman table ${td}, which no DHT defined`);
    if (acNeeded && c.acTable === null) throw corrupt(`component ${id}'s scan uses AC Huffman table ${ta}, which no DHT defined`);
    if (c.quantTable === null) {
      const table = quantTables[c.tq];
      if (table === null) throw corrupt(`component ${id} uses quantisation table ${c.tq}, which no DQT defined`);
      c.quantTable = table.slice();
    }
    components.push(c);
    blocksPerMcu += c.h * c.v;
  }
  if (count > 1 && blocksPerMcu > 10) throw corrupt(`a scan's MCU has ${blocksPerMcu} blocks (at most 10)`);
  return { components, ss, se, ah, al };
}

/** Decodes one block of the scan into `out` at `base`, zigzag index k at base + zz[k]. */
type BlockDecoder = (reader: EntropyReader, c: FrameComponent, out: Int16Array, base: number, zz: Int32Array) => void;

/**
 * Decodes the entropy-coded segment that starts at `pos` (right after the SOS) and returns the
 * position of the marker that ends it. Interleaved scans walk MCUs of h×v blocks per component;
 * a one-component scan walks that component's own blocks one at a time (T.81 A.2.2), whatever its
 * sampling factors.
 */
function decodeScan(bytes: Uint8Array, pos: number, frame: Frame, scan: Scan, restartInterval: number): number {
  const reader = new EntropyReader(bytes, pos);
  const state = { eobrun: 0 };
  const decode = blockDecoder(frame.coding, scan, state);
  for (const c of scan.components) c.pred = 0;
  const scratch = new Int16Array(64);
  let expectedRestart = 0;
  const restart = (): void => {
    reader.reset();
    const marker = nextMarker(bytes, reader.pos);
    if (marker < 0) throw corrupt('the file ends where a restart marker should be (truncated)');
    if (bytes[marker] !== 0xd0 + expectedRestart) {
      throw corrupt(`restart marker mismatch: expected RST${expectedRestart}, found FF ${hex(bytes[marker])}`);
    }
    reader.pos = marker + 1;
    expectedRestart = (expectedRestart + 1) & 7;
    for (const c of scan.components) c.pred = 0;
    state.eobrun = 0;
  };
  if (scan.components.length === 1) {
    const c = scan.components[0];
    const stride = 8 * c.widthInBlocks;
    const total = c.widthInBlocks * c.heightInBlocks;
    for (let n = 0, by = 0, bx = 0; n < total; n++) {
      if (restartInterval > 0 && n > 0 && n % restartInterval === 0) restart();
      decode(reader, c, c.coefficients, 8 * (by * stride + bx), c.zigzagOffsets);
      if (++bx === c.widthInBlocks) {
        bx = 0;
        by++;
      }
    }
  } else {
    const mcusX = Math.ceil(frame.width / (8 * frame.hmax));
    const mcusY = Math.ceil(frame.height / (8 * frame.vmax));
    let n = 0;
    for (let my = 0; my < mcusY; my++) {
      for (let mx = 0; mx < mcusX; mx++, n++) {
        if (restartInterval > 0 && n > 0 && n % restartInterval === 0) restart();
        for (const c of scan.components) {
          const stride = 8 * c.widthInBlocks;
          for (let y = 0; y < c.v; y++) {
            const by = my * c.v + y;
            for (let x = 0; x < c.h; x++) {
              const bx = mx * c.h + x;
              if (by < c.heightInBlocks && bx < c.widthInBlocks) decode(reader, c, c.coefficients, 8 * (by * stride + bx), c.zigzagOffsets);
              else decode(reader, c, scratch, 0, NATURAL_OFFSETS);
            }
          }
        }
      }
    }
  }
  reader.reset();
  return reader.pos;
}

function blockDecoder(coding: JpegCoding, scan: Scan, state: { eobrun: number }): BlockDecoder {
  const { ss, se, ah, al } = scan;
  if (coding !== 'progressive') return decodeSequential;
  if (ss === 0) return ah === 0 ? dcFirst(al) : dcRefine(al);
  return ah === 0 ? acFirst(ss, se, al, state) : acRefine(ss, se, al, state);
}

function badIndex(): never {
  throw corrupt('an AC run goes past the last coefficient of its block (corrupt data)');
}

/** Sequential DCT (T.81 F.2.2): DC difference, then run-length AC to EOB. */
function decodeSequential(reader: EntropyReader, c: FrameComponent, out: Int16Array, base: number, zz: Int32Array): void {
  const t = reader.symbol(c.dcTable!);
  c.pred += t === 0 ? 0 : reader.received(t);
  out[base] = c.pred;
  const ac = c.acTable!;
  const fast = ac.fastAc!;
  for (let k = 1; k < 64;) {
    const f = reader.fastAc(fast);
    if (f !== 0) {
      k += (f >> 4) & 15;
      if (k > 63) badIndex();
      out[base + zz[k]] = f >> 8;
      k++;
      continue;
    }
    const rs = reader.symbol(ac);
    const s = rs & 15;
    const r = rs >> 4;
    if (s === 0) {
      if (r < 15) break; // EOB
      k += 16; // ZRL
      continue;
    }
    k += r;
    if (k > 63) badIndex();
    out[base + zz[k]] = reader.received(s);
    k++;
  }
}

/** Progressive DC first scan (G.1.2.1): the difference, scaled by 2^Al. */
function dcFirst(al: number): BlockDecoder {
  return function dcFirstBlock(reader, c, out, base) {
    const t = reader.symbol(c.dcTable!);
    c.pred += t === 0 ? 0 : reader.received(t);
    out[base] = c.pred * (1 << al);
  };
}

/** Progressive DC refinement: one more bit. */
function dcRefine(al: number): BlockDecoder {
  return function dcRefineBlock(reader, _c, out, base) {
    if (reader.bit()) out[base] |= 1 << al;
  };
}

/** Progressive AC first scan (G.1.2.2): run-length coding over Ss..Se with end-of-band runs. */
function acFirst(ss: number, se: number, al: number, state: { eobrun: number }): BlockDecoder {
  return function acFirstBlock(reader, c, out, base, zz) {
    if (state.eobrun > 0) {
      state.eobrun--;
      return;
    }
    const ac = c.acTable!;
    const fast = ac.fastAc!;
    for (let k = ss; k <= se;) {
      const f = reader.fastAc(fast);
      if (f !== 0) {
        k += (f >> 4) & 15;
        if (k > 63) badIndex();
        out[base + zz[k]] = (f >> 8) * (1 << al);
        k++;
        continue;
      }
      const rs = reader.symbol(ac);
      const s = rs & 15;
      const r = rs >> 4;
      if (s === 0) {
        if (r < 15) {
          state.eobrun = (1 << r) - 1 + (r > 0 ? reader.bitsValue(r) : 0);
          break;
        }
        k += 16;
        continue;
      }
      k += r;
      if (k > 63) badIndex();
      out[base + zz[k]] = reader.received(s) * (1 << al);
      k++;
    }
  };
}

/**
 * Progressive AC refinement (G.1.2.3), as libjpeg's decode_mcu_AC_refine: a correction bit for each
 * coefficient already nonzero, new ±1·2^Al coefficients placed after r zero ones, end-of-band runs
 * that still carry correction bits.
 */
function acRefine(ss: number, se: number, al: number, state: { eobrun: number }): BlockDecoder {
  const p1 = 1 << al;
  const m1 = -1 << al;
  return function acRefineBlock(reader, c, out, base, zz) {
    let k = ss;
    if (state.eobrun === 0) {
      const ac = c.acTable!;
      for (; k <= se; k++) {
        const rs = reader.symbol(ac);
        let r = rs >> 4;
        let value = 0;
        if ((rs & 15) !== 0) {
          // s must be 1; libjpeg reads any other size as 1 too (and warns)
          value = reader.bit() ? p1 : m1;
        } else if (r !== 15) {
          state.eobrun = (1 << r) + (r > 0 ? reader.bitsValue(r) : 0);
          break;
        }
        // skip r zero coefficients, giving each nonzero one passed its correction bit, then place `value`
        for (; k <= se; k++) {
          const at = base + zz[k];
          const coef = out[at];
          if (coef !== 0) {
            if (reader.bit() && (coef & p1) === 0) out[at] = coef >= 0 ? coef + p1 : coef + m1;
          } else if (--r < 0) break;
        }
        if (value !== 0) {
          if (k > 63) badIndex();
          out[base + zz[k]] = value;
        }
      }
    }
    if (state.eobrun > 0) {
      for (; k <= se; k++) {
        const at = base + zz[k];
        const coef = out[at];
        if (coef !== 0 && reader.bit() && (coef & p1) === 0) out[at] = coef >= 0 ? coef + p1 : coef + m1;
      }
      state.eobrun--;
    }
  };
}
