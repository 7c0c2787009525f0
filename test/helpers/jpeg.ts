/**
 * Independent JPEG arithmetic for the coefficient reader's tests: the orthonormal 8×8 DCT pair of
 * T.81 A.3.3 in doubles, the JFIF luma formula, seeded test pictures, and a small baseline
 * encoder (standard Annex K tables, any sampling factors, restart intervals) for layouts no other
 * encoder at hand writes, such as 4:2:2. Written from the standard, sharing no code with src/.
 */
import { seeded } from './opencv.js';

/** C(u) cos((2x+1)uπ/16) / 2 for u, x in 0..7: the DCT basis, COS[u*8+x]. */
const COS = Float64Array.from({ length: 64 }, (_, i) => {
  const u = i >> 3;
  const x = i & 7;
  return ((u === 0 ? Math.SQRT1_2 : 1) * Math.cos(((2 * x + 1) * u * Math.PI) / 16)) / 2;
});

/** Zigzag order by walking the anti-diagonals (T.81 Figure 5): ZIGZAG[k] = natural index. */
export const ZIGZAG: readonly number[] = (() => {
  const order: number[] = [];
  for (let d = 0; d < 15; d++) {
    const cells: number[] = [];
    for (let r = Math.max(0, d - 7); r <= Math.min(7, d); r++) cells.push(r * 8 + (d - r));
    order.push(...(d % 2 === 0 ? cells.reverse() : cells)); // even diagonals run bottom-left → top-right
  }
  return order;
})();

/** Samples of an 8×8 block (row-major, y·8+x) from its coefficients F[u·8+v] (u vertical frequency). */
export function inverseDct(coef: ArrayLike<number>): Float64Array {
  const out = new Float64Array(64);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      let s = 0;
      for (let u = 0; u < 8; u++) for (let v = 0; v < 8; v++) s += COS[u * 8 + y] * COS[v * 8 + x] * coef[u * 8 + v];
      out[y * 8 + x] = s;
    }
  }
  return out;
}

/** Coefficients F[u·8+v] of an 8×8 block of samples (row-major). */
export function forwardDct(samples: ArrayLike<number>): Float64Array {
  const out = new Float64Array(64);
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) s += COS[u * 8 + y] * COS[v * 8 + x] * samples[y * 8 + x];
      out[u * 8 + v] = s;
    }
  }
  return out;
}

/** What the reader returns for one component (the fields this helper needs). */
export interface CoefficientPlane {
  readonly widthInBlocks: number;
  readonly heightInBlocks: number;
  readonly quantTable: ArrayLike<number>;
  readonly coefficients: ArrayLike<number>;
}

/**
 * The component's samples as a decoder with an exact IDCT makes them: dequantised coefficients →
 * inverse DCT → +128 → clamped to [0, 255] (not rounded), cropped to width × height.
 */
export function reconstructPlane(c: CoefficientPlane, width: number, height: number): Float64Array {
  const stride = 8 * c.widthInBlocks;
  const out = new Float64Array(width * height);
  const block = new Float64Array(64);
  for (let by = 0; by < c.heightInBlocks; by++) {
    for (let bx = 0; bx < c.widthInBlocks; bx++) {
      for (let i = 0; i < 64; i++) block[i] = c.coefficients[(8 * by + (i >> 3)) * stride + 8 * bx + (i & 7)] * c.quantTable[i];
      const samples = inverseDct(block);
      for (let y = 0; y < 8; y++) {
        const py = 8 * by + y;
        if (py >= height) break;
        for (let x = 0; x < 8; x++) {
          const px = 8 * bx + x;
          if (px < width) out[py * width + px] = Math.min(255, Math.max(0, samples[y * 8 + x] + 128));
        }
      }
    }
  }
  return out;
}

/** JFIF luma of interleaved RGB: Y = 0.299 R + 0.587 G + 0.114 B. */
export function jfifLuma(rgb: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: rgb.length / 3 }, (_, i) => 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]);
}

/**
 * A seeded RGB test picture with what stresses a JPEG codec: smooth gradients, a sinusoidal
 * texture, noise, hard edges and saturated patches (which clip at 0 and 255 after decoding).
 */
export function testPicture(width: number, height: number, seed: number): Uint8Array {
  const rand = seeded(seed);
  const fx = 0.1 + rand() * 0.5;
  const fy = 0.1 + rand() * 0.5;
  const [cx, cy] = [rand() * width, rand() * height];
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const edge = (x - cx) * 0.6 + (y - cy) > 0 ? 60 : -60;
      for (let ch = 0; ch < 3; ch++) {
        const v = 128 + edge * (ch === 1 ? -1 : 1) + 50 * Math.sin(fx * x + ch) * Math.cos(fy * y) + (x * 100) / width - 50 + (rand() - 0.5) * 40;
        const saturated = (((x >> 3) + (y >> 3) * 3 + ch) % 11 === 0) !== rand() < 0.02;
        out[(y * width + x) * 3 + ch] = saturated ? (ch === 0 ? 255 : 0) : Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return out;
}

/** Annex K.3 luminance DC and AC tables, as (BITS, HUFFVAL). */
const STD_TABLES: ReadonlyArray<readonly [counts: number[], symbols: number[]]> = [
  [
    [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  ],
  [
    [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
    [
      0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23,
      0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
      0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
      0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94,
      0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2,
      0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
      0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ],
  ],
];

/** One component for {@link encodeBaseline}: sampling factors and its quantised coefficients in the reader's layout. */
export interface EncoderComponent {
  readonly h: number;
  readonly v: number;
  readonly quantTable: ArrayLike<number>;
  /** Int [8·heightInBlocks, 8·widthInBlocks], natural order inside each block */
  readonly coefficients: ArrayLike<number>;
  readonly widthInBlocks: number;
  readonly heightInBlocks: number;
}

/** Huffman codes of a (BITS, HUFFVAL) table: symbol → [code, length] (T.81 C.2). */
function codesOf([counts, symbols]: readonly [number[], number[]]): Map<number, [number, number]> {
  const codes = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++, code <<= 1) for (let i = 0; i < counts[length - 1]; i++) codes.set(symbols[k++], [code++, length]);
  return codes;
}

/**
 * A baseline JPEG (SOF0, the standard luminance Huffman tables for every component, one
 * quantisation table per component) holding exactly `components`' coefficients. `interleaved` false writes one scan
 * per component; `restartInterval` > 0 writes DRI and RSTn markers. Blocks of the last MCU row
 * and column that lie outside a component's own grid are written as zero blocks.
 */
export function encodeBaseline(
  width: number,
  height: number,
  components: readonly EncoderComponent[],
  options: { interleaved?: boolean; restartInterval?: number } = {},
): Uint8Array {
  const { interleaved = true, restartInterval = 0 } = options;
  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]): void => {
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  };
  components.forEach((c, i) => segment(0xdb, [i, ...ZIGZAG.map((n) => c.quantTable[n])]));
  segment(0xc0, [8, height >> 8, height & 255, width >> 8, width & 255, components.length, ...components.flatMap((c, i) => [i + 1, (c.h << 4) | c.v, i])]);
  STD_TABLES.forEach(([counts, symbols], tc) => segment(0xc4, [tc << 4, ...counts, ...symbols]));
  if (restartInterval > 0) segment(0xdd, [restartInterval >> 8, restartInterval & 255]);
  const [dcCodes, acCodes] = STD_TABLES.map(codesOf);
  const hmax = Math.max(...components.map((c) => c.h));
  const vmax = Math.max(...components.map((c) => c.v));

  const scan = (members: number[]): void => {
    segment(0xda, [members.length, ...members.flatMap((i) => [i + 1, 0x00]), 0, 63, 0]);
    let acc = 0;
    let bits = 0;
    const put = (value: number, length: number): void => {
      for (let b = length - 1; b >= 0; b--) {
        acc = (acc << 1) | ((value >> b) & 1);
        if (++bits === 8) {
          out.push(acc);
          if (acc === 0xff) out.push(0); // byte stuffing
          acc = 0;
          bits = 0;
        }
      }
    };
    const flush = (): void => {
      while (bits !== 0) put(1, 1);
    };
    const magnitude = (v: number): [bits: number, size: number] => {
      const size = v === 0 ? 0 : Math.floor(Math.log2(Math.abs(v))) + 1;
      return [v < 0 ? v + (1 << size) - 1 : v, size];
    };
    const symbol = (codes: Map<number, [number, number]>, s: number): void => put(...codes.get(s)!);
    const preds = members.map(() => 0);
    const block = (m: number, by: number, bx: number): void => {
      const c = components[members[m]];
      const inside = by < c.heightInBlocks && bx < c.widthInBlocks;
      const at = (n: number): number => (inside ? c.coefficients[(8 * by + (n >> 3)) * 8 * c.widthInBlocks + 8 * bx + (n & 7)] : 0);
      const [dcBits, dcSize] = magnitude(at(0) - preds[m]);
      preds[m] = at(0);
      symbol(dcCodes, dcSize);
      put(dcBits, dcSize);
      let run = 0;
      for (let k = 1; k < 64; k++) {
        const v = at(ZIGZAG[k]);
        if (v === 0) {
          run++;
          continue;
        }
        for (; run > 15; run -= 16) symbol(acCodes, 0xf0);
        const [acBits, acSize] = magnitude(v);
        symbol(acCodes, (run << 4) | acSize);
        put(acBits, acSize);
        run = 0;
      }
      if (run > 0) symbol(acCodes, 0x00);
    };
    const single = members.length === 1;
    const c0 = components[members[0]];
    const mcusX = single ? c0.widthInBlocks : Math.ceil(width / (8 * hmax));
    const mcusY = single ? c0.heightInBlocks : Math.ceil(height / (8 * vmax));
    for (let n = 0; n < mcusX * mcusY; n++) {
      if (restartInterval > 0 && n > 0 && n % restartInterval === 0) {
        flush();
        out.push(0xff, 0xd0 + ((n / restartInterval - 1) & 7));
        preds.fill(0);
      }
      const [my, mx] = [Math.floor(n / mcusX), n % mcusX];
      if (single) block(0, my, mx);
      else
        members.forEach((i, m) => {
          for (let y = 0; y < components[i].v; y++) for (let x = 0; x < components[i].h; x++) block(m, my * components[i].v + y, mx * components[i].h + x);
        });
    }
    flush();
  };
  if (interleaved) scan(components.map((_, i) => i));
  else components.forEach((_, i) => scan([i]));
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

/**
 * Quantised coefficients of a plane of samples (row-major, width × height): the own block grid,
 * the last block row and column filled by repeating the edge samples (as libjpeg's encoder does),
 * forward DCT of the samples − 128, divided by `quantTable` and rounded.
 */
export function quantise(
  plane: ArrayLike<number>,
  width: number,
  height: number,
  quantTable: ArrayLike<number>,
): { widthInBlocks: number; heightInBlocks: number; coefficients: Int32Array } {
  const widthInBlocks = Math.ceil(width / 8);
  const heightInBlocks = Math.ceil(height / 8);
  const stride = 8 * widthInBlocks;
  const coefficients = new Int32Array(stride * 8 * heightInBlocks);
  const samples = new Float64Array(64);
  for (let by = 0; by < heightInBlocks; by++) {
    for (let bx = 0; bx < widthInBlocks; bx++) {
      for (let i = 0; i < 64; i++) {
        const y = Math.min(height - 1, 8 * by + (i >> 3));
        const x = Math.min(width - 1, 8 * bx + (i & 7));
        samples[i] = plane[y * width + x] - 128;
      }
      const f = forwardDct(samples);
      for (let i = 0; i < 64; i++) coefficients[(8 * by + (i >> 3)) * stride + 8 * bx + (i & 7)] = Math.round(f[i] / quantTable[i]);
    }
  }
  return { widthInBlocks, heightInBlocks, coefficients };
}
