/**
 * The JSON of a detection, declared once as zod schemas: what `detect` writes per input (and
 * prints with `--format json`), and the pieces the web API's answers share with it (one analysed
 * image, a face region, an error). Browser-safe: zod only. `json.ts` builds these values.
 */
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

/** An error as data: `MsccnetError.toJSON()` with `problem` under its wire name `message`. */
export const ErrorJson = z.strictObject({
  code: z.templateLiteral(['MSCCNET_', z.string()]),
  message: z.string().describe("what went wrong (the error's problem, without the hint)"),
  hint: z.string().describe('what to do about it'),
});

export const FrameJson = z.strictObject({
  index: z.number().int().min(0).describe('frame number in the video'),
  score: z.number().min(0).max(1),
  label,
  faces: z.array(RegionJson),
  maskArea: z.number().int().min(0),
});

const common = {
  engine: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  score: z.number().min(0).max(1).describe('image: largest face score; video: mean of the frame scores'),
  label,
  threshold: z.number(),
};

const notes = {
  warnings: z.array(z.string()),
  seconds: z.number().min(0),
};

/** One analysed image, wherever it ran: `detect`'s image result, the API's answer, the page's download. */
export const ImageAnalysisJson = z.strictObject({
  ...common,
  faces: z.array(RegionJson),
  maskArea: z.number().int().min(0),
  maskFraction: z.number().min(0).max(1),
  ...notes,
});

const fileFields = {
  input: z.string(),
  outputs: z.strictObject({ json: z.string(), mask: z.string(), overlay: z.string() }),
};

export const ImageResultJson = z.strictObject({
  kind: z.literal('image'),
  ok: z.literal(true),
  ...fileFields,
  ...ImageAnalysisJson.shape,
});

export const VideoResultJson = z.strictObject({
  kind: z.literal('video'),
  ok: z.literal(true),
  ...fileFields,
  ...common,
  ...notes,
  frames: z.array(FrameJson).min(1),
  maxFrameScore: z.number().min(0).max(1),
  /** the frame whose overlay and mask were written (the most fake one) */
  shownFrame: z.number().int().min(0),
});

export const FailedResultJson = z.strictObject({
  ok: z.literal(false),
  input: z.string(),
  error: ErrorJson,
});

export const DetectResultJson = z.union([ImageResultJson, VideoResultJson, FailedResultJson]);
export type DetectResult = z.infer<typeof DetectResultJson>;
export type ImageResult = z.infer<typeof ImageResultJson>;
export type VideoResult = z.infer<typeof VideoResultJson>;
export type RegionResultJson = z.infer<typeof RegionJson>;
export type ImageAnalysis = z.infer<typeof ImageAnalysisJson>;
export type ErrorResult = z.infer<typeof ErrorJson>;
