/**
 * Border rules, as index maps for a coordinate `i` outside [0, n).
 * symmetric: scipy.ndimage 'reflect' (… 2 1 0 | 0 1 2 …), half-sample symmetric.
 * reflect101: OpenCV BORDER_REFLECT_101 / BORDER_DEFAULT (… 2 1 | 0 1 2 …).
 * Both repeat the reflection for lines shorter than the overhang, as their libraries do.
 */
export function symmetricIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - 1 - k;
  return k;
}

export function reflect101Index(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - k;
  return k;
}
