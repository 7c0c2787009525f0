/** `prepare`'s options and their key: the options that change outputs decide whether a finished job is reused. */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseWith } from '../../errors.js';
import { DEFAULT_MAX_PIXELS } from '../../image/limits.js';
import { COMPRESSIONS, METHODS } from '../layout.js';

/** Options of `prepare`; every output records them (their key decides whether a finished job is reused). */
export const PrepareOptions = z.strictObject({
  frames: z.number().int().min(1).max(1000).default(20).describe('frames per video, at floor(linspace(0, L−1, frames)) as the reference'),
  boxScale: z.number().min(1).max(4).default(1.3).describe('square crop side = boxScale × max(w, h) of the detector box (FF++ uses 1.3)'),
  cropSide: z.number().int().min(16).nullable().default(null).describe('resize crops to this side; null keeps the native crop size as the reference'),
  compressions: z
    .array(z.enum(COMPRESSIONS))
    .min(1)
    .default([...COMPRESSIONS])
    .describe('renditions to crop'),
  methods: z
    .array(z.enum(METHODS))
    .min(1)
    .default([...METHODS])
    .describe('manipulation methods to include'),
  minConfidence: z.number().min(0).max(1).default(0.5).describe('face detector score threshold'),
  maxPixels: z
    .number()
    .positive()
    .default(DEFAULT_MAX_PIXELS)
    .describe('renditions with larger frames (width × height) are skipped before any frame is decoded; not in the options key'),
});
export type PrepareOptions = z.infer<typeof PrepareOptions>;

export function parsePrepareOptions(input: Partial<PrepareOptions>): PrepareOptions {
  return parseWith(PrepareOptions, input, 'fix the fields named above');
}

/** Key of the options that change outputs: a finished job made with other options is redone. */
export function optionsKey(o: PrepareOptions): string {
  return createHash('sha256')
    .update(JSON.stringify([o.frames, o.boxScale, o.cropSide, [...o.compressions].sort(), [...o.methods].sort(), o.minConfidence]))
    .digest('hex')
    .slice(0, 16);
}
