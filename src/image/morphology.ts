import { ArgumentError } from '../errors.js';
import type { Image } from './image.js';
import { assertSingleChannel, makeImage } from './image.js';

/**
 * A structuring element whose rows are single horizontal runs (ellipses, rectangles, crosses), as offsets
 * from the anchor: row `dy` covers dx ∈ [dx0, dx1]. OpenCV's morphology visits p + offset for every set
 * element pixel, for dilate and erode alike.
 */
export interface StructuringElement {
  readonly width: number;
  readonly height: number;
  readonly runs: readonly { readonly dy: number; readonly dx0: number; readonly dx1: number }[];
}

/**
 * `cv2.getStructuringElement(MORPH_ELLIPSE, (width, height))`, anchor at the centre: row i spans
 * c ± round(c·√(1 − dy²/r²)) with OpenCV's rounding (half to even), e.g. 7×7 = 0001000 / 0111110 / 1111111 ×3 /
 * 0111110 / 0001000.
 */
export function ellipseElement(width: number, height = width): StructuringElement {
  if (!Number.isInteger(width) || width < 1) throw new ArgumentError('width', 'a positive integer', width);
  if (!Number.isInteger(height) || height < 1) throw new ArgumentError('height', 'a positive integer', height);
  const r = height >> 1,
    c = width >> 1;
  const invR2 = r ? 1 / (r * r) : 0;
  const runs: { dy: number; dx0: number; dx1: number }[] = [];
  for (let i = 0; i < height; i++) {
    const dy = i - r;
    if (Math.abs(dy) > r) continue;
    const dx = roundHalfEven(c * Math.sqrt((r * r - dy * dy) * invR2));
    const j1 = Math.max(c - dx, 0),
      j2 = Math.min(c + dx + 1, width);
    if (j2 > j1) runs.push({ dy, dx0: j1 - c, dx1: j2 - 1 - c });
  }
  return { width, height, runs };
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v),
    d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** The element as a width×height 0/1 array (OpenCV's kernel Mat). */
export function elementToArray(element: StructuringElement): Uint8Array {
  const { width, height } = element;
  const out = new Uint8Array(width * height);
  const ax = width >> 1,
    ay = height >> 1;
  for (const { dy, dx0, dx1 } of element.runs) out.fill(1, (ay + dy) * width + ax + dx0, (ay + dy) * width + ax + dx1 + 1);
  return out;
}

/**
 * Binary morphology on bits: 32 pixels per word (pixel x is bit x % 32, lowest first), so one OR handles
 * 32 pixels. Rows carry zero padding (≥ the element's reach) left, right, above and below: "outside counts
 * as unset" (OpenCV's dilate border) needs no bounds checks. "Value of the right neighbour" is
 * (w >>> 1) | (next << 31).
 */
interface Layout {
  readonly width: number;
  readonly height: number;
  readonly padY: number;
  /** Words per padded row, and the interior word range [w0, w1). */
  readonly words: number;
  readonly w0: number;
  readonly w1: number;
}

function layoutFor(width: number, height: number, element: StructuringElement): Layout {
  let reachX = 0,
    reachY = 0;
  for (const { dy, dx0, dx1 } of element.runs) {
    reachX = Math.max(reachX, -dx0, dx1);
    reachY = Math.max(reachY, Math.abs(dy));
  }
  const padWords = Math.max(1, Math.ceil(reachX / 32));
  const interiorWords = Math.ceil(width / 32);
  return { width, height, padY: reachY, words: interiorWords + 2 * padWords, w0: padWords, w1: padWords + interiorWords };
}

/** One dilation of `src` into `dst` (same layout); padding stays zero. */
function dilateWords(src: Int32Array, dst: Int32Array, layout: Layout, element: StructuringElement, scratch: Scratch): void {
  const { height, padY, words, w0, w1 } = layout;
  const { left, right, spans } = scratch;
  // Horizontal pass: for each distinct run [dx0, dx1], H(x) = OR src(x+dx0 … x+dx1), built from
  // left[k](x) = OR src(x−k … x) and right[k](x) = OR src(x … x+k), each one shift of the previous.
  for (let y = 0; y < height; y++) {
    const row = (y + padY) * words;
    for (let i = 0; i < words; i++) {
      left[0][i] = src[row + i];
      right[0][i] = src[row + i];
    }
    for (let k = 1; k < right.length; k++) {
      const prev = right[k - 1],
        cur = right[k];
      for (let i = w0; i < w1; i++) cur[i] = prev[i] | (prev[i] >>> 1) | (prev[i + 1] << 31);
    }
    for (let k = 1; k < left.length; k++) {
      const prev = left[k - 1],
        cur = left[k];
      for (let i = w0; i < w1; i++) cur[i] = prev[i] | (prev[i] << 1) | (prev[i - 1] >>> 31);
    }
    for (const span of spans) {
      const l = left[-span.dx0],
        r = right[span.dx1],
        h = span.rows;
      for (let i = w0; i < w1; i++) h[row + i] = l[i] | r[i];
    }
  }
  // Vertical pass: OR of the element's rows, each a horizontal run image shifted by dy.
  const tail = layout.width % 32 === 0 ? -1 : ((1 << (layout.width % 32)) - 1) | 0;
  for (let y = 0; y < height; y++) {
    const row = (y + padY) * words;
    const first = scratch.rowRuns[0];
    const firstBase = row + first.dy * words;
    for (let i = w0; i < w1; i++) dst[row + i] = first.rows[firstBase + i];
    for (let j = 1; j < scratch.rowRuns.length; j++) {
      const { rows, dy } = scratch.rowRuns[j];
      const base = row + dy * words;
      for (let i = w0; i < w1; i++) dst[row + i] |= rows[base + i];
    }
    dst[row + w1 - 1] &= tail; // bits past the last column are padding
  }
}

interface Scratch {
  readonly left: Int32Array[];
  readonly right: Int32Array[];
  readonly spans: readonly { dx0: number; dx1: number; rows: Int32Array }[];
  readonly rowRuns: readonly { dy: number; rows: Int32Array }[];
}

function scratchFor(layout: Layout, element: StructuringElement): Scratch {
  const size = layout.words * (layout.height + 2 * layout.padY);
  const reachLeft = Math.max(0, ...element.runs.map((r) => -r.dx0));
  const reachRight = Math.max(0, ...element.runs.map((r) => r.dx1));
  const spans: { dx0: number; dx1: number; rows: Int32Array }[] = [];
  const rowRuns = element.runs.map(({ dy, dx0, dx1 }) => {
    let span = spans.find((s) => s.dx0 === dx0 && s.dx1 === dx1);
    if (span === undefined) spans.push((span = { dx0, dx1, rows: new Int32Array(size) }));
    return { dy, rows: span.rows };
  });
  const line = (): Int32Array => new Int32Array(layout.words);
  return { left: Array.from({ length: reachLeft + 1 }, line), right: Array.from({ length: reachRight + 1 }, line), spans, rowRuns };
}

function morph(mask: Image, element: StructuringElement, iterations: number, erode: boolean): Image {
  assertSingleChannel(mask, 'mask');
  if (!Number.isInteger(iterations) || iterations < 0) throw new ArgumentError('iterations', 'a non-negative integer', iterations);
  if (element.runs.some((r) => r.dx0 > 0 || r.dx1 < 0)) {
    throw new ArgumentError('element', "runs that contain their row's anchor column (dx0 ≤ 0 ≤ dx1)", 'a run beside it');
  }
  const { width, height } = mask;
  const layout = layoutFor(width, height, element);
  const { words, w0, padY } = layout;
  const size = words * (height + 2 * padY);
  // Erosion with outside = set is the complement of dilating the complement with outside = unset.
  // Packing and unpacking go a word (32 pixels) at a time with the word in a local: per-pixel read-modify-writes
  // of the bit array cost more than the dilations themselves.
  const data = mask.data,
    flip = erode ? -1 : 0,
    interior = layout.w1 - w0;
  let bits = new Int32Array(size);
  for (let y = 0; y < height; y++) {
    const o = (y + padY) * words + w0,
      m = y * width;
    for (let w = 0; w < interior; w++) {
      const x0 = w << 5,
        count = Math.min(32, width - x0);
      let word = 0;
      for (let b = 0; b < count; b++) if (data[m + x0 + b] !== 0) word |= 1 << b;
      // Complemented, the bits past the last column must stay 0 (they are padding).
      bits[o + w] = (word ^ flip) & (count === 32 ? -1 : (1 << count) - 1);
    }
  }
  let spare = new Int32Array(size);
  const scratch = scratchFor(layout, element);
  for (let i = 0; i < iterations; i++) {
    dilateWords(bits, spare, layout, element, scratch);
    [bits, spare] = [spare, bits];
  }
  const out = makeImage(width, height, 1);
  const outData = out.data;
  for (let y = 0; y < height; y++) {
    const o = (y + padY) * words + w0,
      m = y * width;
    for (let w = 0; w < interior; w++) {
      const x0 = w << 5,
        count = Math.min(32, width - x0);
      const word = bits[o + w] ^ flip; // 255 where set (dilate) or where the complement is unset (erode)
      for (let b = 0; b < count; b++) outData[m + x0 + b] = ((word >>> b) & 1) * 255;
    }
  }
  return out;
}

/**
 * `cv2.dilate(mask, element, iterations=n)` for a binary mask (nonzero = set): n successive dilations,
 * pixels outside the image never count. Output 0/255.
 */
export function dilateMask(mask: Image, element: StructuringElement, iterations = 1): Image {
  return morph(mask, element, iterations, false);
}

/**
 * `cv2.erode(mask, element, iterations=n)` for a binary mask: n successive erosions, pixels outside the
 * image count as set (OpenCV's default border, so the frame edge does not erode). Output 0/255.
 */
export function erodeMask(mask: Image, element: StructuringElement, iterations = 1): Image {
  return morph(mask, element, iterations, true);
}
