/** Statistics of one tensor as the parity fixtures list them, computed in double over its values. */
export interface TensorStats {
  shape: number[];
  mean: number;
  /** population std (divide by N) */
  std_pop: number;
  abs_max: number;
  min: number;
  max: number;
  sum: number;
  abs_sum: number;
  /** fraction of values > 0 */
  frac_positive: number;
  samples: { index: number[]; value: number }[];
}

/** Row-major flat offset of a multi-index; throws when it is outside `shape`. */
export function flatIndex(shape: readonly number[], index: readonly number[]): number {
  if (index.length !== shape.length || index.some((v, d) => !Number.isInteger(v) || v < 0 || v >= shape[d])) {
    throw new RangeError(`index [${index.join(', ')}] is outside shape [${shape.join(', ')}]`);
  }
  return index.reduce((flat, v, d) => flat * shape[d] + v, 0);
}

/** The fixture statistics of `values` (row-major, `shape`), with values at `sampleIndices`. */
export function tensorStats(values: ArrayLike<number>, shape: readonly number[], sampleIndices: readonly (readonly number[])[] = []): TensorStats {
  let sum = 0; let absSum = 0; let sq = 0; let positive = 0;
  let min = Infinity; let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sum += v; absSum += Math.abs(v);
    if (v > 0) positive++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const n = values.length;
  const mean = sum / n;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;   // two passes: no cancellation
  return {
    shape: [...shape], mean, std_pop: Math.sqrt(sq / n), abs_max: Math.max(Math.abs(min), Math.abs(max)), min, max,
    sum, abs_sum: absSum, frac_positive: positive / n,
    samples: sampleIndices.map((index) => ({ index: [...index], value: values[flatIndex(shape, index)] })),
  };
}
