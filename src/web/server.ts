/**
 * The HTTP side of the web page: `buildServer()` returns a fastify app (not listening, so tests
 * drive it with `inject()`); `msccnet serve` listens. Routes:
 *   GET  /               the page bundle (built by `npm run build:web`)
 *   GET  /api/info       model input side, I/O names, model ETag and the server's limits
 *   GET  /api/model      the ONNX bytes, for the in-browser path (the page caches them)
 *   POST /api/detect     multipart image → score, label, faces, mask/heat map/overlay PNG data URLs
 * Their queries and answers are declared in api.ts. Uploads are processed in memory only; their
 * file names are never used. A request takes a place in the work queue only once its upload is
 * complete and checked, so slow or idle uploads (bounded by `uploadSeconds` and `maxPerClient`)
 * never hold back other clients: `admitClient` → `receiveUpload` → queue → `detectUpload`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import sharp from 'sharp';
import { ArgumentError, MsccnetError } from '../errors.js';
import type { FaceDetector } from '../data/faces.js';
import { analyze, NonFiniteOutputError, type Analysis, type InferenceEngine, type Region, type RgbImage } from '../infer/pipeline.js';
import { faceRegions } from '../infer/regions.js';
import { decodeRgb } from '../infer/node.js';
import { errorJson, imageAnalysisJson } from '../infer/json.js';
import { API, routeSchema, type DetectQuery, type DetectResponse, type ErrorResponse, type InfoResponse, type ServerLimits } from './api.js';
import { dataUrls, multipartAnswer, pictures, wantsMultipart, type Pictures } from './answer.js';
import { AnswerBudget, deferContinue, discardBody, guardConnections } from './connections.js';
import { sniffImage, type ImageMime } from '../image/sniff.js';
import { QueueFullError, RequestAbortedError, RequestTimeoutError, WorkQueue } from './queue.js';

/** Where `npm run build:web` writes the page (two levels up from src/web and from dist/web). */
export const PAGE_DIR = fileURLToPath(new URL('../../web-dist/', import.meta.url));

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxBytes: 20 * 2 ** 20,
  maxPixels: 40e6,
  maxSide: 4096,
  concurrency: 1,
  maxWaiting: 16,
  timeoutSeconds: 60,
  uploadSeconds: 30,
  maxPerClient: 8,
  headerSeconds: 10,
  maxConnections: 1000,
  sendSeconds: 60,
  maxAnswerBytes: 256 * 2 ** 20,
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
  /**
   * Which proxies to believe about the client's address (`X-Forwarded-For`), for the per-client
   * limits and the log: fastify's `trustProxy`. Default off (every peer is a client); a list of
   * proxy addresses or CIDR ranges, or the number of proxy hops in front of the server.
   */
  trustProxy?: number | readonly string[];
}

/** A request the server refuses or cannot answer, with its HTTP status. */
export class UploadError extends MsccnetError {
  constructor(
    readonly status: number,
    code: `MSCCNET_${string}`,
    message: string,
    hint: string,
    options?: ErrorOptions,
  ) {
    super(code, message, hint, options);
  }
}

/** What the routes serve, checked once: the options with their defaults, the model's ETag, the work queue. */
export interface ServerState {
  readonly engine: InferenceEngine;
  readonly modelBytes: Uint8Array;
  readonly faceDetector: () => Promise<FaceDetector>;
  readonly limits: ServerLimits;
  readonly threshold: number;
  readonly modelEtag: string;
  readonly queue: WorkQueue;
  /** requests in progress per client address */
  readonly perClient: Map<string, number>;
  /** answers held for clients that have not read them yet */
  readonly answers: AnswerBudget;
}

/** The fastify app of `msccnet serve`, stage by stage; call `listen()` on it, or `inject()` in tests. */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const state = serverState(opts);
  const app = createApp(state.limits, opts.logger, opts.trustProxy);
  const connections = guardConnections(app.server, state.limits);
  app.addHook('preClose', async () => connections.drain()); // close() waits for requests in flight, not for idle sockets
  deferContinue(app.server);
  await app.register(multipart, { limits: { fileSize: state.limits.maxBytes, ...FORM_LIMITS } });
  const errorCodes = new WeakMap<FastifyRequest, string>();
  addRequestLog(app, errorCodes);
  addSecurityHeaders(app);
  addErrorHandler(app, state.limits, errorCodes);
  await addPage(app, opts.pageDir ?? PAGE_DIR);
  addApiRoutes(app, state);
  return app;
}

/** Checks the options and fills in their defaults. */
export function serverState(opts: ServerOptions): ServerState {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const threshold = opts.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold <= 1)) throw new ArgumentError('threshold', 'a probability in [0, 1]', threshold);
  for (const [key, value] of Object.entries(limits)) {
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw new ArgumentError(`limits.${key}`, 'a positive number', value);
  }
  return {
    engine: opts.engine,
    modelBytes: opts.modelBytes,
    faceDetector: opts.faceDetector,
    limits,
    threshold,
    modelEtag: `"${createHash('sha256').update(opts.modelBytes).digest('hex').slice(0, 32)}"`,
    queue: new WorkQueue(limits.concurrency, limits.maxWaiting),
    perClient: new Map(),
    answers: new AnswerBudget(limits.maxAnswerBytes, limits.sendSeconds),
  };
}

/** The app with its time limits: node's own backstops for clients that never finish their headers or body (ours, per upload, are exact). */
function createApp(limits: ServerLimits, logger: ServerOptions['logger'], trustProxy: ServerOptions['trustProxy']): FastifyInstance {
  const app = Fastify({
    logger: logger ?? false,
    // a hop count trusts the nearest `n` addresses of the chain, as fastify's own number form
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy === undefined ? false : [...trustProxy],
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    requestTimeout: (limits.uploadSeconds + limits.timeoutSeconds) * 1000,
  });
  app.server.headersTimeout = Math.min(app.server.headersTimeout, limits.uploadSeconds * 1000);
  return app;
}

/** One log line per request: status, duration, client, and the error code when it failed. */
function addRequestLog(app: FastifyInstance, errorCodes: WeakMap<FastifyRequest, string>): void {
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      { method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), client: req.ip, code: errorCodes.get(req) },
      'request',
    );
  });
  app.addHook('onRequestAbort', async (req) => {
    req.log.info({ method: req.method, url: req.url, status: null, client: req.ip, aborted: true }, 'request aborted by the client');
  });
}

function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    // The page needs wasm compilation and blob/data images; nothing is loaded from elsewhere.
    reply.header(
      'content-security-policy',
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; " +
        "connect-src 'self' data: blob:; worker-src 'self' blob:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    );
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
}

/** Every failure becomes the API's error answer; server faults are logged with their cause. */
function addErrorHandler(app: FastifyInstance, limits: ServerLimits, errorCodes: WeakMap<FastifyRequest, string>): void {
  app.setErrorHandler((err, req, reply) => {
    const status = statusOf(err);
    const body: ErrorResponse = { ok: false, error: errorJson(asMsccnetError(err, status, limits)) };
    errorCodes.set(req, body.error.code);
    if (status >= 500 && !(err instanceof QueueFullError || err instanceof RequestTimeoutError)) {
      const cause = (err as Error).cause;
      req.log.error({ err, cause: cause instanceof Error ? cause.message : cause, code: body.error.code }, 'request failed');
    }
    if (err instanceof QueueFullError) reply.header('retry-after', '5');
    if (status === 408 || status === 429) reply.header('connection', 'close'); // the rest of a half-sent body is not read
    return reply.code(status).send(body);
  });
}

function statusOf(err: unknown): number {
  if (err instanceof UploadError) return err.status;
  if (err instanceof QueueFullError || err instanceof RequestTimeoutError) return 503;
  if (err instanceof RequestAbortedError) return 499; // nginx's "client closed request": only the log sees it
  if (err instanceof MsccnetError) return 500;
  const code = (err as Partial<FastifyError>).code;
  if (code !== undefined && code in FORM_ERRORS) return 413;
  if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return 415;
  const status = (err as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 600) return status;
  // busboy's parse errors (no boundary, malformed part header, unexpected end) carry no status: the body is at fault
  return isMultipartParseError(err) ? 400 : 500;
}

type Refusal = readonly [code: `MSCCNET_${string}`, problem: string, hint: string];

/** @fastify/multipart's limit errors, named by what was exceeded. */
const FORM_ERRORS: Record<string, (limits: ServerLimits) => Refusal> = {
  FST_REQ_FILE_TOO_LARGE: (l) => ['MSCCNET_TOO_LARGE', `the upload is larger than ${l.maxBytes} bytes`, 'send a smaller image'],
  FST_PARTS_LIMIT: () => ['MSCCNET_TOO_MANY_PARTS', `the form has more than ${FORM_LIMITS.parts} parts`, 'send one form field "image" with the file'],
  FST_FIELDS_LIMIT: () => ['MSCCNET_TOO_MANY_FIELDS', `the form has more than ${FORM_LIMITS.fields} text fields`, 'send one form field "image" with the file'],
  FST_FILES_LIMIT: () => ['MSCCNET_TOO_MANY_FILES', `the form has more than ${FORM_LIMITS.files} file`, 'send one image per request'],
};

function isMultipartParseError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  return (
    /^(Multipart: |Boundary required|Malformed |Unexpected end of |\w+ terminated early due to unexpected end of multipart data|Unsupported content type)/.test(
      message,
    ) || (err as Partial<FastifyError>).code === 'FST_MP_PREMATURE_CLOSE'
  );
}

/** Fastify's and busboy's errors in our terms; internal faults say no more than that. */
function asMsccnetError(err: unknown, status: number, limits: ServerLimits): MsccnetError {
  if (err instanceof MsccnetError) return err;
  const code = (err as Partial<FastifyError>).code;
  const form = code === undefined ? undefined : FORM_ERRORS[code];
  const refusal: Refusal =
    form !== undefined
      ? form(limits)
      : status === 415
        ? ['MSCCNET_MEDIA_TYPE', 'expected a multipart/form-data upload', 'send the image as the form field "image"']
        : status === 400 && isMultipartParseError(err)
          ? [
              'MSCCNET_BAD_MULTIPART',
              `the multipart/form-data body cannot be parsed (${(err as Error).message})`,
              'send a well-formed multipart/form-data body with the boundary of its content-type header',
            ]
          : status < 500
            ? ['MSCCNET_BAD_REQUEST', (err as Error).message, 'see the API description at GET /api/info']
            : ['MSCCNET_INTERNAL', 'internal error', 'retry; if it persists, report it with the server log'];
  return new UploadError(status, ...refusal);
}

/** `GET /`: the page bundle, or a 503 that says how to build it. */
async function addPage(app: FastifyInstance, pageDir: string): Promise<void> {
  if (existsSync(pageDir)) {
    await app.register(fastifyStatic, { root: pageDir, prefix: '/', index: 'index.html', cacheControl: true, maxAge: 0 });
  } else {
    app.get('/', async (_req, reply) =>
      reply.code(503).type('text/plain').send(`the page bundle is not built (${pageDir} is missing)\n  → run: npm run build:web\n`),
    );
  }
}

/** `GET /api/info`, `GET /api/model` and `POST /api/detect`, with the schemas of api.ts. */
export function addApiRoutes(app: FastifyInstance, state: ServerState): void {
  const info: InfoResponse = {
    inputSide: state.engine.inputSide,
    input: 'image',
    outputs: { imageLogits: 'image_logits', maskLogits: 'mask_logits' },
    modelEtag: state.modelEtag,
    modelBytes: state.modelBytes.length,
    engine: state.engine.name,
    threshold: state.threshold,
    limits: state.limits,
  };
  app.route({ method: API.info.method, url: API.info.url, schema: routeSchema(API.info), handler: async () => info });

  app.route({
    method: API.model.method,
    url: API.model.url,
    schema: routeSchema(API.model),
    handler: async (req, reply) => {
      reply.header('etag', state.modelEtag).header('cache-control', 'no-cache');
      if (req.headers['if-none-match'] === state.modelEtag) return reply.code(304).send();
      const bytes = state.modelBytes;
      return reply.type('application/octet-stream').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    },
  });

  app.route<{ Querystring: DetectQuery }>({
    method: API.detect.method,
    url: API.detect.url,
    schema: routeSchema(API.detect),
    handler: async (req, reply) => {
      const gone = await admitOrRefuse(state, req, reply);
      const upload = await receiveUpload(req, state.limits);
      if (state.answers.full) throw new UploadError(503, 'MSCCNET_BUSY', 'the server holds too many unread answers', 'retry in a few seconds');
      const t0 = performance.now();
      const { json, images } = await state.queue.run(() => detectUpload(state, upload, req.query, t0), Date.now() + state.limits.timeoutSeconds * 1000, gone);
      if (wantsMultipart(req.headers.accept)) {
        const { body, contentType } = multipartAnswer(json, images);
        state.answers.hold(reply.raw, body.length);
        return reply.type(contentType).send(body);
      }
      const answer: DetectResponse = { ...json, images: dataUrls(images) };
      const text = reply.serialize(answer); // through the route's response schema, as a returned object would be
      state.answers.hold(reply.raw, Buffer.byteLength(text));
      return reply.type('application/json; charset=utf-8').send(text);
    },
  });
}

/**
 * {@link admitClient}, and where the client is refused, the refusal in a form it can read: a
 * client waiting for `100 Continue` gets the 429 before sending its body; another has its body
 * read and discarded first (up to the upload limit), since closing while it still sends would
 * give it a broken pipe instead of the answer. An admitted `Expect: 100-continue` client is told
 * to go on.
 */
async function admitOrRefuse(state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<AbortSignal> {
  const expects = req.headers.expect?.toLowerCase() === '100-continue';
  let gone: AbortSignal;
  try {
    gone = admitClient(state, req.ip, reply);
  } catch (err) {
    if (!expects) await discardBody(req.raw, state.limits.maxBytes + 64 * 1024, state.limits.uploadSeconds);
    throw err;
  }
  if (expects) reply.raw.writeContinue();
  return gone;
}

/**
 * Counts the request against its client's limit until its connection closes. The signal aborts
 * when the client goes away before the answer.
 */
function admitClient(state: ServerState, client: string, reply: FastifyReply): AbortSignal {
  const mine = state.perClient.get(client) ?? 0;
  if (mine >= state.limits.maxPerClient) {
    throw new UploadError(
      429,
      'MSCCNET_TOO_MANY_REQUESTS',
      `this client already has ${mine} requests in progress (the limit per client)`,
      'wait for their answers before sending more',
    );
  }
  state.perClient.set(client, mine + 1);
  // 'close' comes once the answer is sent or the client went away; before the answer, it means gone
  const gone = new AbortController();
  reply.raw.once('close', () => {
    const n = (state.perClient.get(client) ?? 1) - 1;
    if (n === 0) state.perClient.delete(client);
    else state.perClient.set(client, n);
    if (!reply.raw.writableFinished) gone.abort();
  });
  return gone.signal;
}

/** A complete upload that passed the checks done before a place in the queue is taken. */
interface Upload {
  bytes: Buffer;
  mime: ImageMime;
  width: number;
  height: number;
}

/** Intake: the whole upload within `uploadSeconds`, an image by its bytes, within the pixel limit by its header. */
async function receiveUpload(req: FastifyRequest, limits: ServerLimits): Promise<Upload> {
  const bytes = await withUploadTimeout(readUpload(req), limits.uploadSeconds);
  const mime = sniffImage(bytes);
  if (mime === null) {
    throw new UploadError(
      415,
      'MSCCNET_MEDIA_TYPE',
      'the upload is not a PNG, JPEG or WebP image (judged by its bytes, not its name)',
      'send a PNG, JPEG or WebP image',
    );
  }
  return { bytes, mime, ...(await checkPixels(bytes, limits.maxPixels)) };
}

/** The analysis of one upload, in its place in the queue: decode, find faces, run the model, draw the pictures asked for. */
async function detectUpload(
  state: ServerState,
  upload: Upload,
  query: DetectQuery,
  t0: number,
): Promise<{ json: Omit<DetectResponse, 'images'>; images: Pictures }> {
  const { limits } = state;
  const warnings: string[] = [];
  if (Math.max(upload.width, upload.height) > limits.maxSide) {
    warnings.push(
      `${upload.width}×${upload.height} is larger than ${limits.maxSide} px; downscaled to fit ${limits.maxSide}×${limits.maxSide} (the server's maxSide, see GET /api/info)`,
    );
  }
  let image: RgbImage;
  try {
    image = await decodeRgb(upload.bytes, 'the upload', limits.maxSide, () => undefined);
  } catch (err) {
    throw new UploadError(
      422,
      'MSCCNET_UNDECODABLE',
      `the ${upload.mime.slice(6).toUpperCase()} image cannot be decoded: it is truncated or corrupt`,
      'send the complete file again',
      { cause: err },
    );
  }
  const regions: Region[] = query.face
    ? faceRegions(await (await state.faceDetector()).detect(image.data, image.width, image.height), image.width, image.height)
    : [{ box: { x: 0, y: 0, width: image.width, height: image.height }, detectorScore: null }];
  if (regions.length === 0)
    throw new UploadError(422, 'MSCCNET_NO_FACE', 'no face found in the upload', 'send it again with ?face=false to check the whole image');
  let a: Analysis;
  try {
    a = await analyze(state.engine, image, regions, { threshold: state.threshold });
  } catch (err) {
    if (err instanceof NonFiniteOutputError)
      throw new UploadError(
        500,
        'MSCCNET_NON_FINITE',
        'the model gave a non-finite (NaN or infinite) result for this image',
        'the model file is probably corrupt: report it with the server log',
        { cause: err },
      );
    throw err;
  }
  const images = await pictures(image, a, query.images);
  return { json: { ok: true, ...imageAnalysisJson(a, state.engine.name, warnings, (performance.now() - t0) / 1000) }, images };
}

/** The single file part, in memory, bounded by maxBytes (the multipart limit throws 413 beyond). */
async function readUpload(req: FastifyRequest): Promise<Buffer> {
  if (!req.isMultipart()) throw new UploadError(415, 'MSCCNET_MEDIA_TYPE', 'expected a multipart/form-data upload', 'send the image as a form file field');
  const part = await req.file();
  if (part === undefined) throw new UploadError(400, 'MSCCNET_NO_FILE', 'the form has no file', 'send the image as a form file field');
  const bytes = await part.toBuffer(); // throws FST_REQ_FILE_TOO_LARGE (→ 413) past limits.fileSize
  if (bytes.length === 0) throw new UploadError(422, 'MSCCNET_UNDECODABLE', 'the upload is empty', 'send the complete file again');
  return bytes;
}

/** The upload, or a 408 once `seconds` pass before its last byte arrived (a slow or idle client). */
function withUploadTimeout<T>(upload: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UploadError(
            408,
            'MSCCNET_UPLOAD_TIMEOUT',
            `the upload did not arrive within ${seconds} s`,
            'send the image again over a faster connection, or a smaller image',
          ),
        ),
      seconds * 1000,
    );
  });
  upload.catch(() => undefined); // the connection is closed after the 408; the unfinished read fails then
  return Promise.race([upload, expired]).finally(() => clearTimeout(timer));
}

/** Width × height from the header only, so a decompression bomb is refused before it is decoded. */
async function checkPixels(bytes: Buffer, maxPixels: number): Promise<{ width: number; height: number }> {
  let width = 0;
  let height = 0;
  try {
    ({ width = 0, height = 0 } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw new UploadError(422, 'MSCCNET_UNDECODABLE', 'the image header cannot be read: the file is truncated or corrupt', 'send the complete file again', {
      cause: err,
    });
  }
  if (width * height > maxPixels) {
    throw new UploadError(413, 'MSCCNET_TOO_MANY_PIXELS', `the image has ${width}×${height} pixels, more than the limit of ${maxPixels}`, 'downscale it first');
  }
  return { width, height };
}
