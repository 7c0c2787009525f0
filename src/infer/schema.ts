/** The JSON written per input by `detect` (and printed by `--format json`), as a zod schema. */
import { z } from 'zod';

const box = z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()]).describe('[x, y, width, height] in input pixels');
const label = z.enum(['fake', 'real']);

export const RegionJson = z.strictObject({
  box,
  detectorScore: z.number().min(0).max(1).nullable().describe('face detector confidence; null with --no-face'),
  score: z.number().min(0).max(1).describe('P(fake) of this crop (image head)'),
  label,
  maskArea: z.number().int().min(0).describe('crop pixels with P(fake) above the threshold'),
});

export const FrameJson = z.strictObject({
  index: z.number().int().min(0).describe('frame number in the video'),
  score: z.number().min(0).max(1),
  label,
  faces: z.array(RegionJson),
  maskArea: z.number().int().min(0),
});

const common = {
  input: z.string(),
  engine: z.string(),
  threshold: z.number(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  score: z.number().min(0).max(1).describe('image: largest face score; video: mean of the frame scores'),
  label,
  warnings: z.array(z.string()),
  outputs: z.strictObject({ json: z.string(), mask: z.string(), overlay: z.string() }),
  seconds: z.number().min(0),
};

export const ImageResultJson = z.strictObject({
  kind: z.literal('image'),
  ok: z.literal(true),
  ...common,
  faces: z.array(RegionJson),
  maskArea: z.number().int().min(0),
  maskFraction: z.number().min(0).max(1),
});

export const VideoResultJson = z.strictObject({
  kind: z.literal('video'),
  ok: z.literal(true),
  ...common,
  frames: z.array(FrameJson).min(1),
  maxFrameScore: z.number().min(0).max(1),
  /** the frame whose overlay and mask were written (the most fake one) */
  shownFrame: z.number().int().min(0),
});

export const FailedResultJson = z.strictObject({
  ok: z.literal(false),
  input: z.string(),
  error: z.strictObject({ code: z.string(), message: z.string(), hint: z.string() }),
});

export const DetectResultJson = z.union([ImageResultJson, VideoResultJson, FailedResultJson]);
export type DetectResult = z.infer<typeof DetectResultJson>;
export type ImageResult = z.infer<typeof ImageResultJson>;
export type VideoResult = z.infer<typeof VideoResultJson>;
export type RegionResultJson = z.infer<typeof RegionJson>;
