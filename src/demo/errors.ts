import { MsccnetError } from '../errors.js';
import { failedSummary, type FailedRow } from '../benchmark/errors.js';

export class DemoError extends MsccnetError {
  constructor(message: string, hint: string, options?: ErrorOptions) {
    super('MSCCNET_DEMO', message, hint, options);
  }
}

/** Some baselines of a demo failed: the report is written, with their cells —. */
export class DemoBaselinesError extends MsccnetError {
  constructor(
    readonly failed: readonly FailedRow[],
    report: string,
  ) {
    super(
      'MSCCNET_DEMO_BASELINES',
      `${failed.length} baseline(s) failed, their cells are —: ${failedSummary(failed)}`,
      `every other row is in ${report} (the errors in report.json 'failed'); fix the cause, or leave the method out of --methods, and rerun`,
    );
  }
}
