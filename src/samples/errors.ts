import { MsccnetError } from '../errors.js';

/** A dataset problem that cannot be skipped: e.g. a mask whose size differs from its image. */
export class DatasetError extends MsccnetError {
  constructor(message: string, hint: string, options?: ErrorOptions) {
    super('MSCCNET_DATASET', message, hint, options);
  }
}
