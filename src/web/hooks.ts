/** The app's hooks: the request log, security headers, and the error handler that answers every failure as one MsccnetError JSON with its status. */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { MsccnetError } from '../errors.js';
import { errorJson } from '../infer/json.js';
import type { ErrorResponse, ServerLimits } from './api.js';
import { QueueFullError, RequestAbortedError, RequestTimeoutError } from './queue.js';
import { FORM_LIMITS, UploadError } from './upload.js';

/** One log line per request: status, duration, client, and the error code when it failed. */
export function addRequestLog(app: FastifyInstance, errorCodes: WeakMap<FastifyRequest, string>): void {
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

export function addSecurityHeaders(app: FastifyInstance): void {
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
export function addErrorHandler(app: FastifyInstance, limits: ServerLimits, errorCodes: WeakMap<FastifyRequest, string>): void {
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
