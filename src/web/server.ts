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
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import sharp from 'sharp';
import fastifyStatic from '@fastify/static';
import { ArgumentError } from '../errors.js';
import type { FaceDetector } from '../data/faces.js';
import { analyze, NonFiniteOutputError, type Analysis, type InferenceEngine, type Region, type RgbImage } from '../infer/pipeline.js';
import { faceRegions } from '../infer/regions.js';
import { decodeRgb, fileSource } from '../infer/node.js';
import { imageAnalysisJson } from '../infer/json.js';
import { API, routeSchema, type DetectQuery, type DetectResponse, type InfoResponse, type ServerLimits } from './api.js';
import { jsonAnswer, multipartAnswer, pictures, wantsMultipart, type Pictures } from './answer.js';
import { AnswerBudget, deferContinue, discardBody, guardConnections } from './connections.js';
import { WorkQueue } from './queue.js';
import { addErrorHandler, addRequestLog, addSecurityHeaders } from './hooks.js';
import { FORM_LIMITS, receiveUpload, UploadError, type Upload } from './upload.js';

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
  // every upload is decoded once: libvips' operation cache (by default 100 operations, with what they
  // reference) would only keep past uploads' buffers alive (process-wide: the server owns its process)
  sharp.cache(false);
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
      const busy = (): UploadError => new UploadError(503, 'MSCCNET_BUSY', 'the server holds too many unread answers', 'retry in a few seconds');
      if (state.answers.full) throw busy();
      const t0 = performance.now();
      const { json, images } = await state.queue.run(
        // again when its turn comes: the answers computed while it waited may have filled the budget
        () => (state.answers.full ? Promise.reject(busy()) : detectUpload(state, upload, req.query, t0)),
        Date.now() + state.limits.timeoutSeconds * 1000,
        gone,
      );
      if (wantsMultipart(req.headers.accept)) {
        const { body, contentType } = multipartAnswer(json, images);
        state.answers.hold(reply.raw, body.length);
        return reply.type(contentType).send(body);
      }
      // through the route's response schema (whose serialiser returns a string), as a returned object would be
      const { body, length } = jsonAnswer((answer) => String(reply.serialize(answer)), json, images);
      state.answers.hold(reply.raw, length);
      return reply.type('application/json; charset=utf-8').header('content-length', length).send(body);
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
    const source = await fileSource(state.engine, upload.bytes, image, (m) => warnings.push(m), limits.maxPixels);
    a = await analyze(state.engine, image, regions, { threshold: state.threshold, source });
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
