/** Receiving an upload: one image part within the size, time and pixel limits, checked before it takes a place in the work queue. */
import type { FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { MsccnetError } from '../errors.js';
import type { ServerLimits } from './api.js';
import { sniffImage, type ImageMime } from '../image/sniff.js';

/** A complete upload that passed the checks done before a place in the queue is taken. */
/** Multipart limits of the form: one file field, a few small text fields. */
export const FORM_LIMITS = { files: 1, fields: 4, parts: 5, fieldSize: 1024 } as const;

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

export interface Upload {
  bytes: Buffer;
  mime: ImageMime;
  width: number;
  height: number;
}

/** Intake: the whole upload within `uploadSeconds`, an image by its bytes, within the pixel limit by its header. */
export async function receiveUpload(req: FastifyRequest, limits: ServerLimits): Promise<Upload> {
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
export async function checkPixels(bytes: Buffer, maxPixels: number): Promise<{ width: number; height: number }> {
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
