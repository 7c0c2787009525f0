import { MsccnetError, problemLine } from '../errors.js';

/** A benchmark run (one table row at one compression) that failed, with its error as data. */
export interface FailedRow {
  /** the table row: an MSCCNet variant or a method name */
  readonly row: string;
  readonly method: string;
  readonly compression: string;
  readonly error: ReturnType<MsccnetError['toJSON']>;
}

/** Some rows of a benchmark failed; the others are in its table, and a rerun reuses them. */
export class BenchmarkRowsError extends MsccnetError {
  constructor(
    readonly failed: readonly FailedRow[],
    tableDir: string,
  ) {
    super(
      'MSCCNET_BENCHMARK_ROWS',
      `${failed.length} benchmark run(s) failed, their cells are —: ${failedSummary(failed)}`,
      `the other rows are in ${tableDir}/table.md and the errors in its table.json 'failed'; fix the cause and rerun the same command (finished runs are reused)`,
    );
  }
}

/** The failed runs on one line: `row (compression): problem; …`. */
export function failedSummary(failed: readonly FailedRow[]): string {
  return failed.map((f) => `${f.row} (${f.compression}): ${problemLine(f.error.problem)}`).join('; ');
}

/** Runs that cannot be compared (not finished, tested before per-video units were recorded, or on other videos). */
export class BenchmarkCompareError extends MsccnetError {
  constructor(problem: string, hint: string) {
    super('MSCCNET_BENCHMARK_COMPARE', problem, hint);
  }
}
