import { ArgumentError } from '../errors.js';
import type { Image } from './image.js';
import { assertSingleChannel, makeImage } from './image.js';

// OpenCV's fixed-point BT.601 weights for 8-bit RGB→grey (imgproc color_rgb.simd.hpp, RGB2Gray<uchar>): 15-bit
// shift, round half up. Not the 14-bit yuv_shift weights (4899, 9617, 1868): those round 43,864 of the 2²⁴
// colours differently; these match OpenCV on all of them (test/image/gray.test.ts).
const R2Y = 9798;
const G2Y = 19235;
const B2Y = 3735;

/**
 * RGB(A) → grey exactly as OpenCV's `cvtColor(COLOR_RGB2GRAY)` (= `COLOR_BGR2GRAY` on the BGR order that
 * `cv2.imread` returns): (9798·R + 19235·G + 3735·B + 16384) >> 15. Alpha is ignored; a 1-channel image is copied.
 */
export function rgbToGray(image: Image): Image {
  const { width, height, channels, data } = image;
  const out = makeImage(width, height, 1);
  const g = out.data;
  if (channels === 1) {
    g.set(data);
    return out;
  }
  if (channels < 3) throw new ArgumentError('image', 'a 1-, 3- or 4-channel image', `${channels} channels`);
  for (let i = 0, j = 0; i < g.length; i++, j += channels) {
    g[i] = (R2Y * data[j] + G2Y * data[j + 1] + B2Y * data[j + 2] + 16384) >> 15;
  }
  return out;
}

const UNIT = Float64Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Grey levels as the reference's `gray / 255.` float64 map (the exact doubles numpy produces). Written into
 * `out` when given (at least as long as the image; the returned array is its prefix), so a caller can reuse buffers.
 */
export function grayToUnitFloat(gray: Image, out?: Float64Array): Float64Array {
  assertSingleChannel(gray, 'gray');
  const n = gray.data.length;
  const dst = out === undefined ? new Float64Array(n) : out.subarray(0, n);
  if (dst.length !== n) throw new ArgumentError('out', `at least ${n} values`, out?.length);
  const src = gray.data;
  for (let i = 0; i < n; i++) dst[i] = UNIT[src[i]];
  return dst;
}
