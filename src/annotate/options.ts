import { z } from 'zod';
import { parseWith } from '../errors.js';

/**
 * Parameters of the pixel-level annotation (paper §4.1, Fig. 3). The defaults are the official
 * `annotation_ff.py` `get_blur` (official-spec §11), which produced the paper's masks.
 */
export const AnnotationOptions = z.strictObject({
  dataRange: z
    .number()
    .positive()
    .default(2)
    .describe('SSIM data range L (C1 = (0.01·L)², C2 = (0.03·L)²); 2 is what skimage 0.19 silently used for float input'),
  diffBlurSize: z
    .union([z.literal(3), z.literal(5), z.literal(7)])
    .default(5)
    .describe('side of the OpenCV fixed Gaussian blur of the normalised diff'),
  diffThreshold: z.number().min(0).max(1).default(0.08).describe('a pixel changed iff its blurred, min–max normalised 1 − SSIM exceeds this'),
  dilateSize: z.number().int().positive().default(7).describe('side of the elliptical dilation element'),
  dilateIterations: z.number().int().min(0).default(3).describe('successive dilations'),
  minContourPoints: z.number().int().min(0).default(5).describe('contours with MORE than this many points (after CHAIN_APPROX_SIMPLE) enter the convex hull'),
  erodeSize: z.number().int().positive().default(5).describe('side of the elliptical erosion element'),
  erodeIterations: z.number().int().min(0).default(3).describe('successive erosions of the filled hull'),
  maskBlurSize: z
    .union([z.literal(3), z.literal(5), z.literal(7)])
    .default(7)
    .describe('side of the final fixed Gaussian blur; every pixel it reaches with ≥ 1/255 is fake'),
});
export type AnnotationOptions = z.infer<typeof AnnotationOptions>;
export type AnnotationOptionsInput = z.input<typeof AnnotationOptions>;

/** Options merged over the official defaults; a bad field becomes a `ConfigError` naming it. */
export function annotationOptions(input: AnnotationOptionsInput = {}): AnnotationOptions {
  return parseWith(AnnotationOptions, input, 'fix or drop the annotation options named above (the defaults are the official ones)');
}
