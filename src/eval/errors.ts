import { MsccnetError } from '../errors.js';

/** A per-sample result that cannot be evaluated: wrong shapes, a label other than 0/1, non-finite logits. */
export class EvalInputError extends MsccnetError {
  constructor(
    readonly sampleId: string,
    problem: string,
    hint: string,
  ) {
    super('MSCCNET_EVAL_INPUT', `sample ${sampleId}: ${problem}`, hint);
  }
}

/** A metric the reference cannot compute on this set, e.g. AUC with one class (sklearn raises too). */
export class MetricUndefinedError extends MsccnetError {
  constructor(
    readonly metric: string,
    problem: string,
    hint: string,
  ) {
    super('MSCCNET_METRIC_UNDEFINED', `${metric} is undefined: ${problem}`, hint);
  }
}
