import { MsccnetError } from '../errors.js';

/** A checkpoint or run folder that cannot be resumed from. */
export class CheckpointError extends MsccnetError {
  constructor(
    readonly path: string,
    problem: string,
    hint: string,
    options?: ErrorOptions,
  ) {
    super('MSCCNET_CHECKPOINT', `${path}: ${problem}`, hint, options);
  }
}

/** A failure of the multi-process group (rendezvous, collective, a peer that went away). */
export class DistributedError extends MsccnetError {
  constructor(message: string, hint: string, options?: ErrorOptions) {
    super('MSCCNET_DISTRIBUTED', message, hint, options);
  }
}
