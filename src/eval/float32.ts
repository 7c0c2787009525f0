/**
 * Float32 arithmetic as PyTorch's CPU kernels do it, for the few places where the official
 * evaluation's float32 rounding decides a result (an argmax, a score compared with 0.5, a tie
 * in the AUC). Doubles hold every float32 exactly, so `Math.fround` after each step rounds like
 * a float32 unit would.
 */

const fround = Math.fround;

/** float32 fused multiply-add a·b + c with one rounding (a, b, c float32), as `_mm256_fmadd_ps`. */
export function fmaf(a: number, b: number, c: number): number {
  const product = a * b; // exact: two 24-bit significands fit in 53 bits
  const sum = product + c;
  const rounded = fround(sum);
  // The double sum may itself be rounded; that only matters when it lands exactly halfway
  // between two float32 values, where the sign of the lost part decides the direction.
  const bp = sum - product;
  const lost = product - (sum - bp) + (c - bp);
  if (lost === 0 || rounded === sum) return rounded;
  const other = rounded + 2 * (sum - rounded);
  if (fround(other) !== other || other === rounded) return rounded; // not a halfway case
  return sum - rounded > 0 === lost > 0 ? other : rounded;
}

// eslint-disable-next-line no-loss-of-precision -- the C source's literal, digit for digit; fround rounds it
const R_LN2f = fround(1.442695040888963407359924681001892137426645954152985934135449406931);
const L2Uf = fround(0.693145751953125);
const L2Lf = fround(1.428606765330187045e-6);
const EXP_POLY = [
  0.000198527617612853646278381, 0.00139304355252534151077271, 0.00833336077630519866943359, 0.0416664853692054748535156, 0.166666671633720397949219, 0.5,
].map(fround);

/** Round half to even, as `_mm256_cvtps_epi32` under the default rounding mode. */
function rintEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * float32 exp exactly as SLEEF's `Sleef_expf8_u10` (≤ 1 ulp, not always correctly rounded),
 * which `Vectorized<float>::exp` calls in PyTorch's AVX2/AVX-512 kernels, softmax included.
 */
export function expf(d: number): number {
  if (d < -104) return 0;
  if (d > 100) return Infinity;
  const q = rintEven(fround(d * R_LN2f));
  let s = fmaf(q, -L2Uf, d);
  s = fmaf(q, -L2Lf, s);
  let u = EXP_POLY[0];
  for (let i = 1; i < EXP_POLY.length; i++) u = fmaf(u, s, EXP_POLY[i]);
  u = fround(1 + fmaf(fround(s * s), u, s));
  const half = q >> 1; // ldexp in two steps, as SLEEF's vldexp2, so no step overflows
  return fround(fround(u * 2 ** half) * 2 ** (q - half));
}
