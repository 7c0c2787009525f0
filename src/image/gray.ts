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

/** Grey levels as the reference's `gray / 255.` float64 map (the exact doubles numpy produces). */
export function grayToUnitFloat(gray: Image): Float64Array {
  assertSingleChannel(gray, 'gray');
  const lut = new Float64Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  const out = new Float64Array(gray.data.length);
  for (let i = 0; i < out.length; i++) out[i] = lut[gray.data[i]];
  return out;
}
