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
  const r = height >> 1, c = width >> 1;
  const invR2 = r ? 1 / (r * r) : 0;
  const runs: { dy: number; dx0: number; dx1: number }[] = [];
  for (let i = 0; i < height; i++) {
    const dy = i - r;
    if (Math.abs(dy) > r) continue;
    const dx = roundHalfEven(c * Math.sqrt((r * r - dy * dy) * invR2));
    const j1 = Math.max(c - dx, 0), j2 = Math.min(c + dx + 1, width);
    if (j2 > j1) runs.push({ dy, dx0: j1 - c, dx1: j2 - 1 - c });
  }
  return { width, height, runs };
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v), d = v - f;
  if (d !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** The element as a width×height 0/1 array (OpenCV's kernel Mat). */
export function elementToArray(element: StructuringElement): Uint8Array {
  const { width, height } = element;
  const out = new Uint8Array(width * height);
  const ax = width >> 1, ay = height >> 1;
  for (const { dy, dx0, dx1 } of element.runs) out.fill(1, (ay + dy) * width + ax + dx0, (ay + dy) * width + ax + dx1 + 1);
  return out;
}

/**
 * One binary dilation of 0/1 `bits` (outside the image counts as 0, OpenCV's default border for dilate).
 * For every row, `next[x]` is the first set column ≥ x, so "some pixel of run [x+dx0, x+dx1] is set" is one
 * lookup per element row: O(pixels · rows of the element), independent of the run lengths.
 */
function dilateOnce(bits: Uint8Array, width: number, height: number, element: StructuringElement, out: Uint8Array, next: Int32Array): void {
  for (let y = 0; y < height; y++) {
    const base = y * width;
    let n = width;
    for (let x = width - 1; x >= 0; x--) {
      if (bits[base + x] !== 0) n = x;
      next[base + x] = n;
    }
  }
  out.fill(0);
  for (const { dy, dx0, dx1 } of element.runs) {
    const y0 = Math.max(0, -dy), y1 = Math.min(height, height - dy);
    // Columns whose run lies wholly inside the row need no clipping: x + dx0 ≥ 0 and x + dx1 ≤ width − 1.
    const xa = Math.max(0, -dx0), xb = Math.min(width, width - dx1);
    for (let y = y0; y < y1; y++) {
      const o = y * width, src = (y + dy) * width;
      for (let x = 0; x < Math.min(xa, width); x++) {
        const lo = Math.max(0, x + dx0), hi = Math.min(width - 1, x + dx1);
        if (lo <= hi && next[src + lo] <= hi) out[o + x] = 1;
      }
      for (let x = xa; x < xb; x++) {
        if (next[src + x + dx0] <= x + dx1) out[o + x] = 1;
      }
      for (let x = Math.max(xa, xb); x < width; x++) {
        const lo = Math.max(0, x + dx0), hi = Math.min(width - 1, x + dx1);
        if (lo <= hi && next[src + lo] <= hi) out[o + x] = 1;
      }
    }
  }
}

function morph(mask: Image, element: StructuringElement, iterations: number, erode: boolean): Image {
  assertSingleChannel(mask, 'mask');
  if (!Number.isInteger(iterations) || iterations < 0) throw new ArgumentError('iterations', 'a non-negative integer', iterations);
  const { width, height } = mask;
  // Erosion with outside = set is the complement of dilating the complement with outside = unset.
  let bits = new Uint8Array(width * height);
  for (let i = 0; i < bits.length; i++) bits[i] = (mask.data[i] !== 0) !== erode ? 1 : 0;
  let spare = new Uint8Array(width * height);
  const next = new Int32Array(width * height);
  for (let i = 0; i < iterations; i++) {
    dilateOnce(bits, width, height, element, spare, next);
    [bits, spare] = [spare, bits];
  }
  const out = makeImage(width, height, 1);
  for (let i = 0; i < bits.length; i++) out.data[i] = (bits[i] !== 0) !== erode ? 255 : 0;
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
