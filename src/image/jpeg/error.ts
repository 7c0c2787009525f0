import { MsccnetError } from '../../errors.js';

/**
 * Why a JPEG was refused: `corrupt` (damaged, truncated or not a JPEG), `unsupported` (a valid
 * coding mode the reader does not decode: arithmetic, lossless, hierarchical, 12-bit), or
 * `too-large` (more pixels than the caller's limit, refused from the frame header).
 */
export type JpegErrorReason = 'corrupt' | 'unsupported' | 'too-large';

/** Every bad JPEG the coefficient reader meets: code MSCCNET_JPEG, the reason as data. */
export class JpegError extends MsccnetError {
  constructor(
    readonly reason: JpegErrorReason,
    problem: string,
    hint: string,
  ) {
    super('MSCCNET_JPEG', `JPEG: ${problem}`, hint);
  }
}

const DAMAGED = 'the file is damaged or truncated: use the original file, or re-encode the image';

/** A damaged stream, with the standard hint. */
export function corrupt(problem: string): JpegError {
  return new JpegError('corrupt', problem, DAMAGED);
}
