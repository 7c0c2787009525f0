import { ArgumentError } from '../errors.js';

/** Shape of a channel-first map: [channels, height, width]. */
export type MapShape = readonly [c: number, h: number, w: number];

interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  lambda0: Float32Array;
  lambda1: Float32Array;
}

/**
 * Source taps of one axis, computed as PyTorch 1.13's `compute_source_index_and_lambda` does for
 * float32 and align_corners = False: scale = float(in)/out; src = scale·(dst + 0.5) − 0.5
 * evaluated in double and stored as float32, clamped below at 0; i0 = trunc(src),
 * i1 = min(i0 + 1, in − 1), λ1 = src − i0, λ0 = 1 − λ1 (float32). Equal sizes copy.
 */
function linearTaps(inSize: number, outSize: number): LinearTaps {
  const taps: LinearTaps = {
    i0: new Int32Array(outSize),
    i1: new Int32Array(outSize),
    lambda0: new Float32Array(outSize),
    lambda1: new Float32Array(outSize),
  };
  if (inSize === outSize) {
    for (let dst = 0; dst < outSize; dst++) {
      taps.i0[dst] = dst;
      taps.i1[dst] = dst;
      taps.lambda0[dst] = 1;
    }
    return taps;
  }
  const scale = Math.fround(inSize / outSize);
  for (let dst = 0; dst < outSize; dst++) {
    let src = Math.fround(scale * (dst + 0.5) - 0.5);
    if (src < 0) src = 0;
    const i0 = Math.trunc(src);
    taps.i0[dst] = i0;
    taps.i1[dst] = i0 < inSize - 1 ? i0 + 1 : i0;
    taps.lambda1[dst] = src - i0;
    taps.lambda0[dst] = Math.fround(1 - taps.lambda1[dst]);
  }
  return taps;
}

/**
 * `F.interpolate(x, size, mode='bilinear', align_corners=False)` for one float32 map [C, h, w]
 * → [C, H, W], rounding every step to float32 in the kernel's order: each of the two source
 * rows is blended along the width first, then the rows along the height.
 */
export function resizeBilinear(input: Float32Array, shape: MapShape, size: readonly [h: number, w: number]): Float32Array {
  return resizeBilinearRows(input, shape, size, 0, size[0]);
}

/**
 * Rows `from` ≤ y < `to` of {@link resizeBilinear}'s output, [C, to − from, W], the same values:
 * a large map (a whole photo's mask logits) is upsampled band by band instead of at once.
 * `out` (at least C·(to − from)·W long) is filled and returned instead of a new array.
 */
export function resizeBilinearRows(
  input: Float32Array,
  shape: MapShape,
  size: readonly [h: number, w: number],
  from: number,
  to: number,
  out?: Float32Array,
): Float32Array {
  const [c, h, w] = shape;
  const [outH, outW] = size;
  for (const [name, v] of [
    ['shape[0]', c],
    ['shape[1]', h],
    ['shape[2]', w],
    ['size[0]', outH],
    ['size[1]', outW],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(name, 'a positive integer', v);
  }
  if (input.length !== c * h * w) {
    throw new ArgumentError('input', `${c}×${h}×${w} = ${c * h * w} values (shape [${shape.join(', ')}])`, input);
  }
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= outH)) {
    throw new ArgumentError('rows', `0 ≤ from < to ≤ ${outH} (integers)`, [from, to]);
  }
  const bandH = to - from;
  if (out !== undefined && out.length < c * bandH * outW) throw new ArgumentError('out', `at least ${c * bandH * outW} values`, out.length);
  const rows = linearTaps(h, outH);
  const cols = linearTaps(w, outW);
  const fround = Math.fround;
  const result = out ?? new Float32Array(c * bandH * outW);
  for (let k = 0; k < c; k++) {
    const plane = k * h * w;
    for (let y = from; y < to; y++) {
      const r0 = plane + rows.i0[y] * w;
      const r1 = plane + rows.i1[y] * w;
      const h0 = rows.lambda0[y];
      const h1 = rows.lambda1[y];
      const o = (k * bandH + y - from) * outW;
      for (let x = 0; x < outW; x++) {
        const c0 = cols.i0[x];
        const c1 = cols.i1[x];
        const w0 = cols.lambda0[x];
        const w1 = cols.lambda1[x];
        const t0 = fround(fround(input[r0 + c0] * w0) + fround(input[r0 + c1] * w1));
        const t1 = fround(fround(input[r1 + c0] * w0) + fround(input[r1 + c1] * w1));
        result[o + x] = fround(t0 * h0) + fround(t1 * h1); // the Float32Array store rounds the sum
      }
    }
  }
  return result;
}

/**
 * The resampling matrix [outSize, inSize] of `cv2.resize(…, INTER_CUBIC)` along one axis on float
 * data: source position (d + 0.5)·in/out − 0.5, the four taps around its floor with OpenCV's
 * `interpolateCubic` coefficients (A = −0.75, computed in float32), replicated border (taps past an
 * edge add onto the edge pixel). `W_h · M · W_wᵀ` is the resized map. No antialiasing, as OpenCV.
 */
export function cubicResizeMatrix(inSize: number, outSize: number): Float32Array {
  for (const [name, v] of [
    ['inSize', inSize],
    ['outSize', outSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(name, 'a positive integer', v);
  }
  const f = Math.fround;
  const A = -0.75;
  const scale = inSize / outSize;
  const out = new Float32Array(outSize * inSize);
  for (let d = 0; d < outSize; d++) {
    const pos = f((d + 0.5) * scale - 0.5);
    const s = Math.floor(pos);
    const x = f(pos - s);
    const c0 = f(f(f(f(f(A * f(x + 1)) - 5 * A) * f(x + 1)) + 8 * A) * f(x + 1)) - 4 * A;
    const c1 = f(f(f(f(f((A + 2) * x) - (A + 3)) * x) * x) + 1);
    const c2 = f(f(f(f(f((A + 2) * f(1 - x)) - (A + 3)) * f(1 - x)) * f(1 - x)) + 1);
    const c3 = f(f(f(1 - f(c0)) - c1) - c2);
    [f(c0), c1, c2, c3].forEach((c, k) => {
      const j = Math.min(Math.max(s - 1 + k, 0), inSize - 1);
      out[d * inSize + j] += c;
    });
  }
  return out;
}
