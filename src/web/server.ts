/**
 * The HTTP side of the web page: `buildServer()` returns a fastify app (not listening, so tests
 * drive it with `inject()`); `msccnet serve` listens. Routes:
 *   GET  /               the page bundle (built by `npm run build:web`)
 *   GET  /api/info       model input side, I/O names, model ETag and the server's limits
 *   GET  /api/model      the ONNX bytes, for the in-browser path (the page caches them)
 *   POST /api/detect     multipart image → score, label, faces, mask/heat map/overlay PNG data URLs
 * Uploads are processed in memory only; their file names are never used. A request takes a
 * place in the work queue only once its upload is complete and checked, so slow or idle uploads
 * (bounded by `uploadSeconds` and `maxPerClient`) never hold back other clients.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import sharp from 'sharp';
import { ArgumentError, MsccnetError } from '../errors.js';
import type { FaceDetector } from '../data/faces.js';
import { encodePng } from '../image/codec.js';
import { analyze, NonFiniteOutputError, renderOverlay, type InferenceEngine, type Region, type RgbImage } from '../infer/pipeline.js';
import { faceRegions } from '../infer/regions.js';
import { decodeRgb, regionsJson } from '../infer/node.js';
import { heatmapRgba } from './heatmap.js';
import { sniffImage } from './sniff.js';
import { QueueFullError, RequestAbortedError, RequestTimeoutError, WorkQueue } from './queue.js';

/** Where `npm run build:web` writes the page (two levels up from src/web and from dist/web). */
export const PAGE_DIR = fileURLToPath(new URL('../../web-dist/', import.meta.url));

/** Limits of `POST /api/detect`; every field has a default. */
export interface ServerLimits {
  /** largest upload in bytes (default 20 MiB); larger → 413 */
  maxBytes: number;
  /** largest width × height (default 40 Mpx), read from the header before decoding; larger → 413 */
  maxPixels: number;
  /** images are downscaled to this longer side before analysis, as `detect --max-side` (default 4096) */
  maxSide: number;
  /** requests analysed at once (default 1: the model uses every core) */
  concurrency: number;
  /** requests that may wait beyond those (default 16); more → 503 */
  maxWaiting: number;
  /** per-request time limit from the complete upload to the answer, in seconds (default 60) → 503 */
  timeoutSeconds: number;
  /** time to receive the whole upload, in seconds (default 30); slower → 408 and the connection is closed */
  uploadSeconds: number;
  /** requests from one client address being uploaded, waiting or analysed at once (default 8); more → 429 */
  maxPerClient: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxBytes: 20 * 2 ** 20, maxPixels: 40e6, maxSide: 4096, concurrency: 1, maxWaiting: 16, timeoutSeconds: 60,
  uploadSeconds: 30, maxPerClient: 8,
});

/** Multipart limits of the form: one file field, a few small text fields. */
const FORM_LIMITS = { files: 1, fields: 4, parts: 5, fieldSize: 1024 } as const;

/** Pino levels of the request log. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ServerOptions {
  /** the engine of `POST /api/detect` */
  engine: InferenceEngine;
  /** the ONNX bytes the engine runs, served to the in-browser path */
  modelBytes: Uint8Array;
  /** face detector, called on first need (`loadFaceDetector` from the data pipeline) */
  faceDetector: () => Promise<FaceDetector>;
  limits?: Partial<ServerLimits>;
  /** P(fake) threshold (default 0.5 = the official argmax) */
  threshold?: number;
  /** folder of the page bundle (default PAGE_DIR) */
  pageDir?: string;
  /**
   * The request log (pino JSON lines: one per request with status and duration, one per server
   * error with its cause). Default off: library code prints nothing; `msccnet serve` turns it on.
   */
  logger?: { level: LogLevel; stream?: { write(line: string): void } };
}

/** An upload the server refuses, with its HTTP status. */
export class UploadError extends MsccnetError {
  constructor(readonly status: number, code: `MSCCNET_${string}`, message: string, hint: string, options?: ErrorOptions) {
    super(code, message, hint, options);
  }
}

const errorBody = {
  type: 'object',
  required: ['ok', 'error'],
  properties: {
    ok: { const: false },
    error: {
      type: 'object', required: ['code', 'message', 'hint'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' } },
    },
  },
} as const;

const faceSchema = {
  type: 'object',
  required: ['box', 'detectorScore', 'score', 'label', 'maskArea'],
  properties: {
    box: { type: 'array', items: { type: 'integer' }, minItems: 4, maxItems: 4 },
    detectorScore: { type: ['number', 'null'] },
    score: { type: 'number' },
    label: { enum: ['fake', 'real'] },
    maskArea: { type: 'integer' },
  },
} as const;

const detectBody = {
  type: 'object',
  required: ['ok', 'engine', 'width', 'height', 'score', 'label', 'threshold', 'faces', 'maskArea', 'maskFraction', 'warnings', 'seconds', 'images'],
  properties: {
    ok: { const: true },
    engine: { type: 'string' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    score: { type: 'number', description: 'P(fake): the largest face score' },
    label: { enum: ['fake', 'real'] },
    threshold: { type: 'number' },
    faces: { type: 'array', items: faceSchema },
    maskArea: { type: 'integer' },
    maskFraction: { type: 'number' },
    warnings: { type: 'array', items: { type: 'string' } },
    seconds: { type: 'number' },
    images: {
      type: 'object', required: ['mask', 'heatmap', 'overlay'],
      properties: {
        mask: { type: 'string', description: 'data:image/png;base64 — 255 where P(fake) > threshold' },
        heatmap: { type: 'string', description: 'data:image/png;base64 — RGBA jet colours of P(fake) inside the faces' },
        overlay: { type: 'string', description: 'data:image/png;base64 — the image with the heat map, boxes and scores' },
      },
    },
  },
} as const;

/** The JSON of a successful `POST /api/detect`. */
export interface DetectResponse {
  ok: true;
  engine: string;
  width: number;
  height: number;
  score: number;
  label: 'fake' | 'real';
  threshold: number;
  faces: Array<{ box: [number, number, number, number]; detectorScore: number | null; score: number; label: 'fake' | 'real'; maskArea: number }>;
  maskArea: number;
  maskFraction: number;
  warnings: string[];
  seconds: number;
  images: { mask: string; heatmap: string; overlay: string };
}

/** The JSON of `GET /api/info`. */
export interface InfoResponse {
  inputSide: number;
  input: string;
  outputs: { imageLogits: string; maskLogits: string };
  modelEtag: string;
  modelBytes: number;
  engine: string;
  threshold: number;
  limits: ServerLimits;
}

const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

function statusOf(err: unknown): number {
  if (err instanceof UploadError) return err.status;
  if (err instanceof QueueFullError || err instanceof RequestTimeoutError) return 503;
  if (err instanceof RequestAbortedError) return 499;   // nginx's "client closed request": only the log sees it
  if (err instanceof MsccnetError) return 500;
  const code = (err as Partial<FastifyError>).code;
  if (code !== undefined && code in FORM_ERRORS) return 413;
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return 415;
  const status = (err as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 600) return status;
  // busboy's parse errors (no boundary, malformed part header, unexpected end) carry no status: the body is at fault
  return isMultipartParseError(err) ? 400 : 500;
}

/** @fastify/multipart's limit errors, named by what was exceeded. */
const FORM_ERRORS: Record<string, (limits: ServerLimits) => { code: `MSCCNET_${string}`; message: string; hint: string }> = {
  FST_REQ_FILE_TOO_LARGE: (l) => ({ code: 'MSCCNET_TOO_LARGE', message: `the upload is larger than ${l.maxBytes} bytes`, hint: 'send a smaller image' }),
  FST_PARTS_LIMIT: () => ({ code: 'MSCCNET_TOO_MANY_PARTS', message: `the form has more than ${FORM_LIMITS.parts} parts`, hint: 'send one form field "image" with the file' }),
  FST_FIELDS_LIMIT: () => ({ code: 'MSCCNET_TOO_MANY_FIELDS', message: `the form has more than ${FORM_LIMITS.fields} text fields`, hint: 'send one form field "image" with the file' }),
  FST_FILES_LIMIT: () => ({ code: 'MSCCNET_TOO_MANY_FILES', message: `the form has more than ${FORM_LIMITS.files} file`, hint: 'send one image per request' }),
};

function isMultipartParseError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  return /^(Multipart: |Boundary required|Malformed |Unexpected end of |\w+ terminated early due to unexpected end of multipart data|Unsupported content type)/.test(message)
    || (err as Partial<FastifyError>).code === 'FST_MP_PREMATURE_CLOSE';
}

function errorJson(err: unknown, status: number, limits: ServerLimits) {
  if (err instanceof MsccnetError) return { ok: false as const, error: { code: err.code, message: err.problem, hint: err.hint } };
  const code = (err as Partial<FastifyError>).code;
  const form = code === undefined ? undefined : FORM_ERRORS[code];
  if (form !== undefined) return { ok: false as const, error: form(limits) };
  if (status === 415) {
    return { ok: false as const, error: { code: 'MSCCNET_MEDIA_TYPE', message: 'expected a multipart/form-data upload', hint: 'send the image as the form field "image"' } };
  }
  if (status === 400 && isMultipartParseError(err)) {
    return { ok: false as const, error: { code: 'MSCCNET_BAD_MULTIPART', message: `the multipart/form-data body cannot be parsed (${(err as Error).message})`,
      hint: 'send a well-formed multipart/form-data body with the boundary of its content-type header' } };
  }
  if (status < 500) {
    return { ok: false as const, error: { code: 'MSCCNET_BAD_REQUEST', message: (err as Error).message, hint: 'see the API description at GET /api/info' } };
  }
  return { ok: false as const, error: { code: 'MSCCNET_INTERNAL', message: 'internal error', hint: 'retry; if it persists, report it with the server log' } };
}

/** The fastify app of `msccnet serve`; call `listen()` on it, or `inject()` in tests. */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const threshold = opts.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentError('threshold', 'a probability in [0, 1]', threshold);
  for (const [key, value] of Object.entries(limits)) {
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw new ArgumentError(`limits.${key}`, 'a positive number', value);
  }
  const queue = new WorkQueue(limits.concurrency, limits.maxWaiting);
  const perClient = new Map<string, number>();
  const errorCodes = new WeakMap<FastifyRequest, string>();
  const modelEtag = `"${createHash('sha256').update(opts.modelBytes).digest('hex').slice(0, 32)}"`;
  const pageDir = opts.pageDir ?? PAGE_DIR;
  const app = Fastify({
    logger: opts.logger ?? false, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 1024 * 1024,
    // node's own backstops for clients that never finish their headers or body (ours below is exact)
    requestTimeout: (limits.uploadSeconds + limits.timeoutSeconds) * 1000,
  });
  app.server.headersTimeout = Math.min(app.server.headersTimeout, limits.uploadSeconds * 1000);

  await app.register(multipart, { limits: { fileSize: limits.maxBytes, ...FORM_LIMITS } });

  // One log line per request: status, duration, client, and the error code when it failed.
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), client: req.ip,
      code: errorCodes.get(req) }, 'request');
  });
  app.addHook('onRequestAbort', async (req) => {
    req.log.info({ method: req.method, url: req.url, status: null, client: req.ip, aborted: true }, 'request aborted by the client');
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    // The page needs wasm compilation and blob/data images; nothing is loaded from elsewhere.
    reply.header('content-security-policy', "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; "
      + "connect-src 'self' data: blob:; worker-src 'self' blob:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });

  app.setErrorHandler((err, req, reply) => {
    const status = statusOf(err);
    const body = errorJson(err, status, limits);
    errorCodes.set(req, body.error.code);
    if (status >= 500 && !(err instanceof QueueFullError || err instanceof RequestTimeoutError)) {
      const cause = (err as Error).cause;
      req.log.error({ err, cause: cause instanceof Error ? cause.message : cause, code: body.error.code }, 'request failed');
    }
    if (err instanceof QueueFullError) reply.header('retry-after', '5');
    if (status === 408 || status === 429) reply.header('connection', 'close');   // the rest of a half-sent body is not read
    return reply.code(status).send(body);
  });

  if (existsSync(pageDir)) {
    await app.register(fastifyStatic, { root: pageDir, prefix: '/', index: 'index.html', cacheControl: true, maxAge: 0 });
  } else {
    app.get('/', async (_req, reply) => reply.code(503).type('text/plain')
      .send(`the page bundle is not built (${pageDir} is missing)\n  → run: npm run build:web\n`));
  }

  const infoResponse: InfoResponse = {
    inputSide: opts.engine.inputSide, input: 'image', outputs: { imageLogits: 'image_logits', maskLogits: 'mask_logits' },
    modelEtag, modelBytes: opts.modelBytes.length, engine: opts.engine.name, threshold, limits,
  };
  app.get('/api/info', {
    schema: {
      response: {
        200: {
          type: 'object',
          required: ['inputSide', 'input', 'outputs', 'modelEtag', 'modelBytes', 'engine', 'threshold', 'limits'],
          properties: {
            inputSide: { type: 'integer' }, input: { type: 'string' },
            outputs: { type: 'object', properties: { imageLogits: { type: 'string' }, maskLogits: { type: 'string' } } },
            modelEtag: { type: 'string' }, modelBytes: { type: 'integer' }, engine: { type: 'string' }, threshold: { type: 'number' },
            limits: {
              type: 'object',
              properties: Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((k) => [k, { type: 'number' }])),
            },
          },
        },
      },
    },
  }, async () => infoResponse);

  app.get('/api/model', async (req, reply) => {
    reply.header('etag', modelEtag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === modelEtag) return reply.code(304).send();
    return reply.type('application/octet-stream').send(Buffer.from(opts.modelBytes.buffer, opts.modelBytes.byteOffset, opts.modelBytes.byteLength));
  });

  app.post<{ Querystring: { face: boolean } }>('/api/detect', {
    schema: {
      querystring: { type: 'object', properties: { face: { type: 'boolean', default: true } }, additionalProperties: false },
      response: { 200: detectBody, '4xx': errorBody, '5xx': errorBody },
    },
  }, async (req, reply) => {
    const client = req.ip;
    const mine = perClient.get(client) ?? 0;
    if (mine >= limits.maxPerClient) {
      throw new UploadError(429, 'MSCCNET_TOO_MANY_REQUESTS', `this client already has ${mine} requests in progress (the limit per client)`,
        'wait for their answers before sending more');
    }
    perClient.set(client, mine + 1);
    // 'close' comes once the answer is sent or the client went away; before the answer, it means gone
    const gone = new AbortController();
    reply.raw.once('close', () => {
      const n = (perClient.get(client) ?? 1) - 1;
      if (n === 0) perClient.delete(client); else perClient.set(client, n);
      if (!reply.raw.writableFinished) gone.abort();
    });

    const bytes = await withUploadTimeout(readUpload(req), limits.uploadSeconds);
    const mime = sniffImage(bytes);
    if (mime === null) {
      throw new UploadError(415, 'MSCCNET_MEDIA_TYPE', 'the upload is not a PNG, JPEG or WebP image (judged by its bytes, not its name)', 'send a PNG, JPEG or WebP image');
    }
    const size = await checkPixels(bytes, limits.maxPixels);
    const t0 = performance.now();
    return queue.run(async () => {
      const warnings: string[] = [];
      if (Math.max(size.width, size.height) > limits.maxSide) {
        warnings.push(`${size.width}×${size.height} is larger than ${limits.maxSide} px; downscaled to fit ${limits.maxSide}×${limits.maxSide} (the server's maxSide, see GET /api/info)`);
      }
      let image: RgbImage;
      try {
        image = await decodeRgb(bytes, 'the upload', limits.maxSide, () => undefined);
      } catch (err) {
        throw new UploadError(422, 'MSCCNET_UNDECODABLE', `the ${mime.slice(6).toUpperCase()} image cannot be decoded: it is truncated or corrupt`,
          'send the complete file again', { cause: err });
      }
      const regions: Region[] = req.query.face
        ? faceRegions(await (await opts.faceDetector()).detect(image.data, image.width, image.height), image.width, image.height)
        : [{ box: { x: 0, y: 0, width: image.width, height: image.height }, detectorScore: null }];
      if (regions.length === 0) throw new UploadError(422, 'MSCCNET_NO_FACE', 'no face found in the upload', 'send it again with ?face=false to check the whole image');
      let a;
      try {
        a = await analyze(opts.engine, image, regions, { threshold });
      } catch (err) {
        if (err instanceof NonFiniteOutputError) throw new UploadError(500, 'MSCCNET_NON_FINITE', 'the model gave a non-finite (NaN or infinite) result for this image',
          'the model file is probably corrupt: report it with the server log', { cause: err });
        throw err;
      }
      const overlay = renderOverlay(image, a);
      const [mask, heatmap, overlayPng] = await Promise.all([
        encodePng({ width: a.width, height: a.height, channels: 1, data: a.mask }),
        encodePng({ width: a.width, height: a.height, channels: 4, data: new Uint8Array(heatmapRgba(a).buffer) }),
        encodePng({ width: overlay.width, height: overlay.height, channels: 3, data: overlay.data }),
      ]);
      const body: DetectResponse = {
        ok: true, engine: opts.engine.name, width: a.width, height: a.height, score: a.score, label: a.label, threshold: a.threshold,
        faces: regionsJson(a), maskArea: a.maskArea, maskFraction: a.maskArea / (a.width * a.height), warnings,
        seconds: (performance.now() - t0) / 1000,
        images: { mask: dataUrl(mask), heatmap: dataUrl(heatmap), overlay: dataUrl(overlayPng) },
      };
      return body;
    }, Date.now() + limits.timeoutSeconds * 1000, gone.signal);
  });

  return app;
}

/** The single file part, in memory, bounded by maxBytes (the multipart limit throws 413 beyond). */
async function readUpload(req: FastifyRequest): Promise<Buffer> {
  if (!req.isMultipart()) throw new UploadError(415, 'MSCCNET_MEDIA_TYPE', 'expected a multipart/form-data upload', 'send the image as a form file field');
  const part = await req.file();
  if (part === undefined) throw new UploadError(400, 'MSCCNET_NO_FILE', 'the form has no file', 'send the image as a form file field');
  const bytes = await part.toBuffer();   // throws FST_REQ_FILE_TOO_LARGE (→ 413) past limits.fileSize
  if (bytes.length === 0) throw new UploadError(422, 'MSCCNET_UNDECODABLE', 'the upload is empty', 'send the complete file again');
  return bytes;
}

/** The upload, or a 408 once `seconds` pass before its last byte arrived (a slow or idle client). */
function withUploadTimeout<T>(upload: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UploadError(408, 'MSCCNET_UPLOAD_TIMEOUT', `the upload did not arrive within ${seconds} s`,
      'send the image again over a faster connection, or a smaller image')), seconds * 1000);
  });
  upload.catch(() => undefined);   // the connection is closed after the 408; the unfinished read fails then
  return Promise.race([upload, expired]).finally(() => clearTimeout(timer));
}

/** Width × height from the header only, so a decompression bomb is refused before it is decoded. */
async function checkPixels(bytes: Buffer, maxPixels: number): Promise<{ width: number; height: number }> {
  let width = 0;
  let height = 0;
  try {
    ({ width = 0, height = 0 } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw new UploadError(422, 'MSCCNET_UNDECODABLE', 'the image header cannot be read: the file is truncated or corrupt', 'send the complete file again', { cause: err });
  }
  if (width * height > maxPixels) {
    throw new UploadError(413, 'MSCCNET_TOO_MANY_PIXELS', `the image has ${width}×${height} pixels, more than the limit of ${maxPixels}`, 'downscale it first');
  }
  return { width, height };
}
