/**
 * The HTTP API of `msccnet serve`, declared once: zod schemas of every route's query and answers
 * (per status). The server hands fastify their JSON Schema (`routeSchema`: it validates queries
 * and serialises answers with it); the server, the page and the tests take their types from them.
 * Browser-safe (zod and infer/schema.ts only), so the page imports this and no server code.
 */
import { z } from 'zod';
import { ErrorJson, ImageAnalysisJson } from '../infer/schema.js';

const positive = z.number().positive();

/** Limits of `POST /api/detect`; `DEFAULT_LIMITS` (server.ts) gives every field a default. */
export const ServerLimitsJson = z.strictObject({
  maxBytes: positive.describe('largest upload in bytes (default 20 MiB); larger → 413'),
  maxPixels: positive.describe('largest width × height (default 40 Mpx), read from the header before decoding; larger → 413'),
  maxSide: positive.describe('images are downscaled to this longer side before analysis, as `detect --max-side` (default 4096)'),
  concurrency: positive.describe('requests analysed at once (default 1: the model uses every core)'),
  maxWaiting: positive.describe('requests that may wait beyond those (default 16); more → 503'),
  timeoutSeconds: positive.describe('per-request time limit from the complete upload to the answer, in seconds (default 60) → 503'),
  uploadSeconds: positive.describe('time to receive the whole upload, in seconds (default 30); slower → 408 and the connection is closed'),
  maxPerClient: positive.describe('requests from one client address being uploaded, waiting or analysed at once (default 8); more → 429'),
  headerSeconds: positive.describe(
    'a connection without a request in progress (new or kept alive) is closed after this many seconds without complete request headers (default 10)',
  ),
  maxConnections: positive.describe('open connections at most (default 1000); at the cap a new one evicts the oldest idle one; keep it below ulimit -n'),
  sendSeconds: positive.describe('time for a client to take its answer, in seconds (default 60); slower → the connection is closed'),
  maxAnswerBytes: positive.describe('answers written but not yet read by their clients, in bytes, in total (default 256 MiB); beyond → 503'),
});
export type ServerLimits = z.infer<typeof ServerLimitsJson>;

/** `GET /api/info`: what the page needs to run the model itself, and the server's limits. */
export const InfoResponseJson = z.strictObject({
  inputSide: z.number().int().positive(),
  input: z.string().describe('the ONNX input name'),
  outputs: z.strictObject({ imageLogits: z.string(), maskLogits: z.string() }).describe('the ONNX output names'),
  modelEtag: z.string().describe('the ETag of GET /api/model'),
  modelBytes: z.number().int().positive(),
  engine: z.string(),
  threshold: z.number().min(0).max(1),
  limits: ServerLimitsJson,
});
export type InfoResponse = z.infer<typeof InfoResponseJson>;

/** Which pictures `POST /api/detect` returns (the analysis itself always comes). */
export const ANSWER_IMAGES = ['all', 'mask', 'mask-heatmap', 'mask-overlay'] as const;
export type AnswerImages = (typeof ANSWER_IMAGES)[number];

export const DetectQueryJson = z.strictObject({
  face: z.boolean().default(true).describe('find faces first (false: check the whole image as one crop)'),
  images: z
    .enum(ANSWER_IMAGES)
    .default('mask')
    .describe(
      'pictures in the answer: mask alone (the default, the most compact), all (mask, heat map, overlay: tens of MB for a large photo), mask-heatmap (what the page draws) or mask-overlay; ' +
        'with `Accept: multipart/form-data` they come as binary PNG parts beside an `analysis` JSON part instead of base64 data URLs',
    ),
});
export type DetectQuery = z.output<typeof DetectQueryJson>;

/** `POST /api/detect` → 200. */
export const DetectResponseJson = z.strictObject({
  ok: z.literal(true),
  ...ImageAnalysisJson.shape,
  images: z.strictObject({
    mask: z.string().describe('data:image/png;base64 — 255 where P(fake) > threshold, one channel at the size of the analysed image'),
    heatmap: z.string().optional().describe('data:image/png;base64 — RGBA jet colours of P(fake) inside the faces (images=all, mask-heatmap)'),
    overlay: z.string().optional().describe('data:image/png;base64 — the image with the heat map, boxes and scores (images=all, mask-overlay)'),
  }),
});
export type DetectResponse = z.infer<typeof DetectResponseJson>;

/** Every 4xx and 5xx answer of the API. */
export const ErrorResponseJson = z.strictObject({ ok: z.literal(false), error: ErrorJson });
export type ErrorResponse = z.infer<typeof ErrorResponseJson>;

type Status = 200 | '4xx' | '5xx';

/** A route: its query (if any) and its JSON answer per status. */
export interface ApiRoute {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly querystring?: z.ZodObject;
  readonly responses: Readonly<Partial<Record<Status, z.ZodType>>>;
}

/** The API's routes. */
export const API = {
  info: { method: 'GET', url: '/api/info', responses: { 200: InfoResponseJson, '5xx': ErrorResponseJson } },
  /** the ONNX bytes (application/octet-stream), or 304 when `If-None-Match` holds `modelEtag`: no JSON */
  model: { method: 'GET', url: '/api/model', responses: {} },
  detect: {
    method: 'POST',
    url: '/api/detect',
    querystring: DetectQueryJson,
    responses: { 200: DetectResponseJson, '4xx': ErrorResponseJson, '5xx': ErrorResponseJson },
  },
} as const satisfies Record<string, ApiRoute>;

/** A JSON Schema (draft-07, the dialect of fastify's validator and serialiser). */
export type JsonSchema = Record<string, unknown>;

/** The route's schema for fastify, derived from its zod schemas: queries as sent, answers as produced. */
export function routeSchema(route: ApiRoute): { querystring?: JsonSchema; response: Record<string, JsonSchema> } {
  const json = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'throw' }) as JsonSchema;
  const response = Object.fromEntries(Object.entries(route.responses).map(([status, schema]) => [status, json(schema, 'output')]));
  return route.querystring === undefined ? { response } : { querystring: json(route.querystring, 'input'), response };
}
