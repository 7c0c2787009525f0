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
  /** values at the requested multi-indices; null where an index lies outside the shape */
  samples: { index: number[]; value: number | null }[];
}

/** Row-major flat offset of a multi-index, or null when it lies outside `shape`. */
export function flatIndex(shape: readonly number[], index: readonly number[]): number | null {
  if (index.length !== shape.length || index.some((v, d) => !Number.isInteger(v) || v < 0 || v >= shape[d])) return null;
  return index.reduce((flat, v, d) => flat * shape[d] + v, 0);
}

/** The value at a multi-index, or null outside the shape. */
export function valueAt(values: ArrayLike<number>, shape: readonly number[], index: readonly number[]): number | null {
  const flat = flatIndex(shape, index);
  return flat === null ? null : values[flat];
}

/** The fixture statistics of `values` (row-major, `shape`), with values at `sampleIndices`. */
export function tensorStats(values: ArrayLike<number>, shape: readonly number[], sampleIndices: readonly (readonly number[])[] = []): TensorStats {
  let sum = 0;
  let absSum = 0;
  let sq = 0;
  let positive = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    sum += v;
    absSum += Math.abs(v);
    if (v > 0) positive++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const n = values.length;
  const mean = sum / n;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2; // two passes: no cancellation
  return {
    shape: [...shape],
    mean,
    std_pop: Math.sqrt(sq / n),
    abs_max: Math.max(Math.abs(min), Math.abs(max)),
    min,
    max,
    sum,
    abs_sum: absSum,
    frac_positive: positive / n,
    samples: sampleIndices.map((index) => ({ index: [...index], value: valueAt(values, shape, index) })),
  };
}
