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

/**
 * Training diverged: a loss term, a gradient or the parameters became inf/NaN. The run stops
 * before that step's update, so its last checkpoint holds the last finite weights.
 */
export class DivergedError extends MsccnetError {
  constructor(
    readonly step: number,
    /** what became non-finite: `loss term 'total'`, `a gradient`, `the parameters` */
    readonly what: string,
    readonly value: number,
  ) {
    super(
      'MSCCNET_NON_FINITE',
      `training diverged at step ${step}: ${what} is ${Number.isNaN(value) ? 'NaN' : value} (nothing of this step was applied or saved)`,
      'lower optim.lr (or optim.weightDecay, losses.*), then start over or continue from the last checkpoint with `msccnet train --resume`',
    );
  }
}
