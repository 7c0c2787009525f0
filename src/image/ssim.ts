import { ArgumentError } from '../errors.js';
import type { FloatMap } from './image.js';
import { symmetricIndex } from './borders.js';

/** Options of `ssimMap`; the defaults are scikit-image 0.19's for float input, which the official annotation used. */
export interface SsimOptions {
  /** L in C1 = (K1·L)², C2 = (K2·L)². Default 2: skimage 0.19's implicit range for float images (−1..1). */
  dataRange?: number;
  /** Side of the uniform window (odd). Default 7. */
  windowSize?: number;
  /** Default 0.01. */
  k1?: number;
  /** Default 0.03. */
  k2?: number;
}

/**
 * The full SSIM map of `structural_similarity(x, y, full=True)` as scikit-image 0.19 computes it: uniform
 * window means (scipy `uniform_filter`, mode 'reflect', axis 0 then axis 1, each a running sum updated by
 * in − out and divided by size on output), sample covariances (× N/(N−1)), and the same floating-point
 * operation order, so the map equals skimage's (SciPy 1.10) bit for bit. `x` is the first argument (the official code passes the fake).
 * With `out` (at least width·height long) the map is written into its prefix instead of a new array.
 */
export function ssimMap(x: FloatMap, y: FloatMap, options: SsimOptions = {}, out?: Float64Array): FloatMap {
  const { width, height } = x;
  if (y.width !== width || y.height !== height) {
    throw new ArgumentError('y', `a ${width}×${height} map like x`, `${y.width}×${y.height}`);
  }
  const size = options.windowSize ?? 7;
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new ArgumentError('windowSize', 'an odd positive integer', size);
  const dataRange = options.dataRange ?? 2;
  const c1Root = (options.k1 ?? 0.01) * dataRange;
  const c2Root = (options.k2 ?? 0.03) * dataRange;
  const C1 = c1Root * c1Root;
  const C2 = c2Root * c2Root;
  const np = size * size;
  const covNorm = np / (np - 1);
  const half = size >> 1;
  const X = x.data;
  const Y = y.data;

  // Vertical pass state: one running window SUM per column for each of x, y, x², y², xy.
  const vx = new Float64Array(width),
    vy = new Float64Array(width);
  const vxx = new Float64Array(width),
    vyy = new Float64Array(width),
    vxy = new Float64Array(width);
  // Horizontal pass input: the vertical means of one row, extended by `half` reflected samples each side.
  const ext = width + 2 * half;
  const ex = new Float64Array(ext),
    ey = new Float64Array(ext);
  const exx = new Float64Array(ext),
    eyy = new Float64Array(ext),
    exy = new Float64Array(ext);
  const colOf = new Int32Array(ext);
  for (let k = 0; k < ext; k++) colOf[k] = symmetricIndex(k - half, width);
  const n = width * height;
  const map = out === undefined ? new Float64Array(n) : out.subarray(0, n);
  if (map.length !== n) throw new ArgumentError('out', `at least ${n} values`, out?.length);

  // scipy's uniform_filter1d keeps the running sum undivided (sum += in − out) and writes sum / size.
  for (let k = 0; k < size; k++) {
    const row = symmetricIndex(k - half, height) * width;
    for (let c = 0; c < width; c++) {
      const a = X[row + c],
        b = Y[row + c];
      vx[c] += a;
      vy[c] += b;
      vxx[c] += a * a;
      vyy[c] += b * b;
      vxy[c] += a * b;
    }
  }

  for (let r = 0; r < height; r++) {
    if (r > 0) {
      const inRow = symmetricIndex(r + half, height) * width;
      const outRow = symmetricIndex(r - half - 1, height) * width;
      for (let c = 0; c < width; c++) {
        const a = X[inRow + c],
          b = Y[inRow + c],
          a0 = X[outRow + c],
          b0 = Y[outRow + c];
        vx[c] += a - a0;
        vy[c] += b - b0;
        vxx[c] += a * a - a0 * a0;
        vyy[c] += b * b - b0 * b0;
        vxy[c] += a * b - a0 * b0;
      }
    }
    for (let c = 0; c < width; c++) {
      const k = c + half;
      ex[k] = vx[c] / size;
      ey[k] = vy[c] / size;
      exx[k] = vxx[c] / size;
      eyy[k] = vyy[c] / size;
      exy[k] = vxy[c] / size;
    }
    for (let k = 0; k < 2 * half; k++) {
      const e = k < half ? k : ext - 1 - (k - half),
        c = colOf[e] + half;
      ex[e] = ex[c];
      ey[e] = ey[c];
      exx[e] = exx[c];
      eyy[e] = eyy[c];
      exy[e] = exy[c];
    }
    let sx = 0,
      sy = 0,
      sxx = 0,
      syy = 0,
      sxy = 0;
    for (let k = 0; k < size; k++) {
      sx += ex[k];
      sy += ey[k];
      sxx += exx[k];
      syy += eyy[k];
      sxy += exy[k];
    }
    const base = r * width;
    for (let c = 0; c < width; c++) {
      if (c > 0) {
        const i = c + size - 1,
          o = c - 1;
        sx += ex[i] - ex[o];
        sy += ey[i] - ey[o];
        sxx += exx[i] - exx[o];
        syy += eyy[i] - eyy[o];
        sxy += exy[i] - exy[o];
      }
      const ux = sx / size,
        uy = sy / size,
        uxx = sxx / size,
        uyy = syy / size,
        uxy = sxy / size;
      // skimage: vx = cov_norm·(uxx − ux·ux) …; A1 = 2·ux·uy + C1, A2 = 2·vxy + C2,
      // B1 = ux² + uy² + C1, B2 = vx + vy + C2, S = A1·A2 / (B1·B2).
      const varX = covNorm * (uxx - ux * ux);
      const varY = covNorm * (uyy - uy * uy);
      const covXY = covNorm * (uxy - ux * uy);
      const a1 = 2 * ux * uy + C1;
      const a2 = 2 * covXY + C2;
      const b1 = ux * ux + uy * uy + C1;
      const b2 = varX + varY + C2;
      map[base + c] = (a1 * a2) / (b1 * b2);
    }
  }
  return { width, height, data: map };
}
