/** Small raster helpers for the synthetic forgeries: RGB images as interleaved bytes, masks as floats in [0, 1]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}
export type Point = [x: number, y: number];
/** Row-major [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine = [number, number, number, number, number, number];

/** Seeded PRNG (mulberry32): the same seed gives the same forgery on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export const uniform = (rng: () => number, lo: number, hi: number): number => lo + (hi - lo) * rng();

/** Convex hull (Andrew's monotone chain), counter-clockwise. */
export function convexHull(points: readonly Point[]): Point[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (pts: Point[]): Point[] => {
    const h: Point[] = [];
    for (const q of pts) {
      while (h.length >= 2 && cross(h[h.length - 2]!, h[h.length - 1]!, q) <= 0) h.pop();
      h.push(q);
    }
    h.pop();
    return h;
  };
  return [...half(p), ...half([...p].reverse())];
}

/** The polygon scaled about its centroid (factor < 1 shrinks it). */
export function scalePolygon(poly: readonly Point[], factor: number): Point[] {
  const cx = poly.reduce((s, q) => s + q[0], 0) / poly.length;
  const cy = poly.reduce((s, q) => s + q[1], 0) / poly.length;
  return poly.map(([x, y]): Point => [cx + (x - cx) * factor, cy + (y - cy) * factor]);
}

/** 1 inside the polygon (pixel centres, even-odd rule), else 0. */
export function fillPolygon(poly: readonly Point[], width: number, height: number): Float32Array {
  const m = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const yc = y + 0.5;
    const xs: number[] = [];
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i]!;
      const [xj, yj] = poly[j]!;
      if (yi > yc !== yj > yc) xs.push(xi + ((yc - yi) * (xj - xi)) / (yj - yi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const x0 = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const x1 = Math.min(width - 1, Math.floor(xs[k + 1]! - 0.5));
      for (let x = x0; x <= x1; x++) m[y * width + x] = 1;
    }
  }
  return m;
}

/** Three box blurs of radius r ≈ a Gaussian of σ ≈ r (edges clamp): a soft blend edge. */
export function blurMask(m: Float32Array, width: number, height: number, r: number): Float32Array {
  let cur = m;
  for (let pass = 0; pass < 3; pass++) cur = boxBlur(boxBlur(cur, width, height, r, true), width, height, r, false);
  return cur;
}

function boxBlur(src: Float32Array, w: number, h: number, r: number, horizontal: boolean): Float32Array {
  const dst = new Float32Array(src.length);
  const [n, lines] = horizontal ? [w, h] : [h, w];
  const at = (line: number, i: number): number => (horizontal ? line * w + i : i * w + line);
  for (let line = 0; line < lines; line++) {
    let sum = 0;
    for (let i = -r; i <= r; i++) sum += src[at(line, Math.min(n - 1, Math.max(0, i)))]!;
    for (let i = 0; i < n; i++) {
      dst[at(line, i)] = sum / (2 * r + 1);
      sum += src[at(line, Math.min(n - 1, i + r + 1))]! - src[at(line, Math.max(0, i - r))]!;
    }
  }
  return dst;
}

/** Samples `src` at inverse(map) of every output pixel (bilinear, clamped borders). `map` takes src to dst coordinates. */
export function warpAffine(src: RgbImage, map: Affine): RgbImage {
  const [a, b, c, d, e, f] = map;
  const det = a * e - b * d;
  const [ia, ib, id, ie] = [e / det, -b / det, -d / det, a / det];
  const { width: w, height: h } = src;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - c;
      const dy = y - f;
      const sx = Math.min(w - 1, Math.max(0, ia * dx + ib * dy));
      const sy = Math.min(h - 1, Math.max(0, id * dx + ie * dy));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(w - 1, x0 + 1);
      const y1 = Math.min(h - 1, y0 + 1);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let ch = 0; ch < 3; ch++) {
        const v00 = src.data[(y0 * w + x0) * 3 + ch]!;
        const v01 = src.data[(y0 * w + x1) * 3 + ch]!;
        const v10 = src.data[(y1 * w + x0) * 3 + ch]!;
        const v11 = src.data[(y1 * w + x1) * 3 + ch]!;
        out[(y * w + x) * 3 + ch] = Math.round((v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy);
      }
    }
  }
  return { width: w, height: h, data: out };
}

/** Rotation by `degrees`, scaling by (sx, sy) and translation by (tx, ty), all about `centre`. */
export function affineAbout(centre: Point, degrees: number, sx: number, sy: number, tx = 0, ty = 0): Affine {
  const r = (degrees * Math.PI) / 180;
  const [cos, sin] = [Math.cos(r), Math.sin(r)];
  const [a, b, d, e] = [cos * sx, -sin * sy, sin * sx, cos * sy];
  const [cx, cy] = centre;
  return [a, b, cx - a * cx - b * cy + tx, d, e, cy - d * cx - e * cy + ty];
}

/** Least-squares similarity (rotation, uniform scale, translation) taking `from` onto `to`. */
export function fitSimilarity(from: readonly Point[], to: readonly Point[]): Affine {
  const n = from.length;
  const mean = (pts: readonly Point[]): Point => [pts.reduce((s, p) => s + p[0], 0) / n, pts.reduce((s, p) => s + p[1], 0) / n];
  const [fx, fy] = mean(from);
  const [tx, ty] = mean(to);
  let sxx = 0;
  let sab = 0;
  let sba = 0;
  for (let i = 0; i < n; i++) {
    const ux = from[i]![0] - fx;
    const uy = from[i]![1] - fy;
    const vx = to[i]![0] - tx;
    const vy = to[i]![1] - ty;
    sxx += ux * ux + uy * uy;
    sab += ux * vx + uy * vy;
    sba += ux * vy - uy * vx;
  }
  const a = sab / sxx;
  const b = sba / sxx; // a = s·cosθ, b = s·sinθ
  return [a, -b, tx - a * fx + b * fy, b, a, ty - b * fx - a * fy];
}

/** alpha·fg + (1 − alpha)·bg per pixel, rounded. */
export function blend(bg: RgbImage, fg: RgbImage, alpha: Float32Array): RgbImage {
  const out = new Uint8Array(bg.data.length);
  for (let i = 0; i < alpha.length; i++) {
    const a = alpha[i]!;
    for (let ch = 0; ch < 3; ch++) out[i * 3 + ch] = Math.round(a * fg.data[i * 3 + ch]! + (1 - a) * bg.data[i * 3 + ch]!);
  }
  return { width: bg.width, height: bg.height, data: out };
}
