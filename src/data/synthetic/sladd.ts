/**
 * SLADD's data-side forgery (liangchen527/SLADD `networks/synthesizer.py`, `dataprocess/utils/*`):
 * given a real face, a fake face of the same identity and the policy's action (region, blend type,
 * magnitude), it builds a landmark region mask, deforms and blurs it, aligns the fake onto the real
 * face, transfers colour and blends. OpenCV calls go through opencv.js (the same library as cv2).
 *
 * Named deviations from the official code: the piecewise-affine mask deformation splits each cell
 * of its 5×5 anchor grid along one diagonal (skimage triangulates the same grid by Delaunay, which
 * is degenerate on a rectangular grid); `cv2.seamlessClone` (type 1, not in opencv.js) is the same
 * Poisson equation solved iteratively (SOR) instead of by sine transform.
 */
import { ArgumentError } from '../../errors.js';
import { loadOpenCv } from '../../image/index.js';
import { resizeCubic } from '../../image/preprocess.js';
import { fitSimilarity, type Affine, type Point, type RgbImage } from './geometry.js';
import type { FaceImage } from './forge.js';

/** The 10 regions of `synthesizer.parse`: left/right/both eyes, nose, mouth, and their unions. */
export const SLADD_REGION_NAMES = [
  'left eye',
  'right eye',
  'both eyes',
  'nose',
  'mouth',
  'nose+left eye',
  'nose+right eye',
  'nose+eyes',
  'nose+mouth',
  'eyes+nose+mouth',
] as const;
/** The colour transfers of `blend_fake_to_real`'s draw, in its order. */
export const SLADD_COLOUR_MODES = ['rct-m', 'rct-fs', 'avg-align', 'faceswap'] as const;
export type SladdColourMode = (typeof SLADD_COLOUR_MODES)[number];

/** The synthesizer's action for one real image. */
export interface SladdAction {
  /** 0–9, SLADD_REGION_NAMES */
  region: number;
  /** 0 alpha blend, 1 Poisson (seamless clone), 2 magnitude copy; 3 keeps the image real */
  type: number;
  /** the magnitude in (0, 1) of type 2 */
  mag: number;
}

/** A forged image and its mask (0/1 per pixel, the official `tgt_mask`), plus the detector's 16² target (cv2 cubic of the mask, uint8). */
export interface SladdForgery {
  image: RgbImage;
  mask: Uint8Array;
  mask16: Uint8Array;
  /** false where the official code keeps the real image (mask mean < 0.005) */
  forged: boolean;
}

// The opencv.js calls used here, typed structurally.
interface Mat {
  rows: number;
  cols: number;
  data: Uint8Array;
  data32F: Float32Array;
  delete(): void;
}
interface Cv {
  Mat: { new (): Mat; new (rows: number, cols: number, type: number): Mat; ones(rows: number, cols: number, type: number): Mat };
  Point: new (x: number, y: number) => unknown;
  Size: new (w: number, h: number) => unknown;
  Scalar: new (...v: number[]) => unknown;
  CV_8UC1: number;
  CV_8UC3: number;
  CV_32FC1: number;
  INTER_CUBIC: number;
  BORDER_REFLECT: number;
  BORDER_DEFAULT: number;
  BORDER_CONSTANT: number;
  COLOR_BGR2Lab: number;
  COLOR_Lab2BGR: number;
  line(m: Mat, a: unknown, b: unknown, color: unknown, thickness: number): void;
  warpAffine(src: Mat, dst: Mat, m: Mat, size: unknown, flags: number, border: number): void;
  GaussianBlur(src: Mat, dst: Mat, size: unknown, sigma: number): void;
  erode(src: Mat, dst: Mat, kernel: Mat): void;
  dilate(src: Mat, dst: Mat, kernel: Mat): void;
  cvtColor(src: Mat, dst: Mat, code: number): void;
  matFromArray(rows: number, cols: number, type: number, values: ArrayLike<number>): Mat;
  CV_64FC1: number;
}

/** opencv.js, wrapped: the module is an Emscripten thenable, which an async function must never return bare. */
async function opencv(): Promise<{ c: Cv }> {
  return { c: (await loadOpenCv()).cv as unknown as Cv };
}

/** Runs `f` over new Mats and frees them. */
function withMats<T>(mats: Mat[], f: () => T): T {
  try {
    return f();
  } finally {
    for (const m of mats) m.delete();
  }
}

/**
 * `synthesizer.get_five_key`: eye centres (mean of the corners 36/39, 42/45), nose tip 33, mouth
 * corners 48/54, then the four eye corners, truncated to int32.
 */
export function sladdKeyPoints(l: readonly Point[]): Point[] {
  const mid = (a: number, b: number): Point => [(l[a][0] + l[b][0]) * 0.5, (l[a][1] + l[b][1]) * 0.5];
  return [mid(36, 39), mid(42, 45), l[33], l[48], l[54], l[36], l[39], l[42], l[45]].map(([x, y]) => [Math.trunc(x), Math.trunc(y)]);
}

/** `face_blend.get_5_keypoint`, the alignment points: eye centres by integer halving of 36/39 and 45/42, nose 30, mouth corners. */
function alignPoints(l: readonly Point[]): Point[] {
  const centre = (a: number, b: number): Point => [Math.floor((l[a][0] + l[b][0]) / 2), Math.floor((l[a][1] + l[b][1]) / 2)];
  return [centre(36, 39), centre(45, 42), l[30], l[48], l[54]].map(([x, y]) => [Math.trunc(x), Math.trunc(y)]);
}

/**
 * scipy `binary_dilation(line, iterations=n)` with its default cross: every pixel within city-block
 * distance n of the line (exact two-pass distance). n = 0 repeats until nothing changes, which
 * fills the image.
 */
function dilateCityBlock(mask: Uint8Array, w: number, h: number, n: number): Uint8Array {
  const out = new Uint8Array(w * h);
  if (n === 0) return out.fill(mask.some((v) => v !== 0) ? 1 : 0);
  const d = new Float64Array(w * h).map((_, i) => (mask[i] ? 0 : Infinity));
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (x > 0) d[i] = Math.min(d[i], d[i - 1] + 1);
      if (y > 0) d[i] = Math.min(d[i], d[i - w] + 1);
    }
  for (let y = h - 1; y >= 0; y--)
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      if (x < w - 1) d[i] = Math.min(d[i], d[i + 1] + 1);
      if (y < h - 1) d[i] = Math.min(d[i], d[i + w] + 1);
    }
  for (let i = 0; i < out.length; i++) out[i] = d[i] <= n ? 1 : 0;
  return out;
}

/** `cv2.line(zeros, a, b, 1, thickness=2)` dilated `dilation` times. */
function lineMask(c: Cv, a: Point, b: Point, w: number, h: number, dilation: number): Uint8Array {
  const m = new c.Mat(h, w, c.CV_8UC1);
  return withMats([m], () => {
    m.data.fill(0);
    c.line(m, new c.Point(a[0], a[1]), new c.Point(b[0], b[1]), new c.Scalar(1), 2);
    return dilateCityBlock(m.data, w, h, dilation);
  });
}

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** `remove_eyes` / `remove_nose` / `remove_mouth` and their sums (a union) for `region` 0–9, as 0/1. */
export async function sladdRegionMask(region: number, keys: readonly Point[], w: number, h: number): Promise<Uint8Array> {
  const { c } = await opencv();
  const eyes = (opt: 'l' | 'r' | 'b') => {
    const [p, q] = opt === 'l' ? [keys[5], keys[6]] : opt === 'r' ? [keys[7], keys[8]] : [keys[0], keys[1]];
    const n = Math.floor(Math.floor(dist(p, q)) / 4); // int(w // 4)
    return lineMask(c, p, q, w, h, opt === 'b' ? n : n * 4);
  };
  const nose = () => {
    const mid: Point = [Math.trunc((keys[0][0] + keys[1][0]) / 2), Math.trunc((keys[0][1] + keys[1][1]) / 2)];
    return lineMask(c, keys[2], mid, w, h, Math.floor(Math.floor(dist(keys[0], keys[1])) / 4));
  };
  const mouth = () => lineMask(c, keys[3], keys[4], w, h, Math.floor(Math.floor(dist(keys[3], keys[4])) / 3));
  const parts: Record<number, () => Uint8Array[]> = {
    0: () => [eyes('l')],
    1: () => [eyes('r')],
    2: () => [eyes('b')],
    3: () => [nose()],
    4: () => [mouth()],
    5: () => [nose(), eyes('l')],
    6: () => [nose(), eyes('r')],
    7: () => [nose(), eyes('b')],
    8: () => [nose(), mouth()],
    9: () => [eyes('b'), nose(), mouth()],
  };
  const make = parts[region];
  if (make === undefined) throw new ArgumentError('region', 'one of the 10 SLADD regions, 0–9', region);
  const out = new Uint8Array(w * h);
  for (const p of make()) for (let i = 0; i < out.length; i++) out[i] |= p[i];
  return out;
}

/** A standard normal draw (Box–Muller) from a uniform generator. */
function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/**
 * `random_deform(mask, 5, 5)`: anchors on a 5×5 grid (the first axis jittered twice by
 * int(N(0, 10)), as the official code does), each moved by N(0, 10) and clipped; the mask warped
 * through the piecewise-affine map (nearest sample of the 0/1 mask, 0 outside the anchors),
 * multiplied by the mask, then `cv2.GaussianBlur(5×5, σ 3)`.
 */
export async function sladdRandomDeform(mask: Uint8Array, w: number, h: number, rng: () => number): Promise<Float32Array> {
  const { c } = await opencv();
  const lin = (n: number) => Array.from({ length: 5 }, (_, k) => Math.trunc((k * (n - 1)) / 4));
  const xs = lin(h); // skimage reads (row, col) pairs as (x, y): the first coordinate runs over `rows`
  for (let pass = 0; pass < 2; pass++) for (let k = 0; k < 5; k++) xs[k] += Math.trunc(10 * gaussian(rng));
  xs.sort((a, b) => a - b);
  const ys = lin(w);
  const anchor = (j: number, i: number): Point => [xs[j], ys[i]];
  const moved: Point[][] = Array.from({ length: 5 }, (_, j) =>
    Array.from({ length: 5 }, (_, i): Point => {
      const [x, y] = anchor(j, i);
      return [Math.trunc(Math.min(Math.max(x + 10 * gaussian(rng), 0), h - 1)), Math.trunc(Math.min(Math.max(y + 10 * gaussian(rng), 0), w - 1))];
    }),
  );
  const warped = new Float32Array(w * h);
  const cell = (v: number, grid: number[]) => {
    for (let k = 0; k < 4; k++) if (v >= grid[k] && v <= grid[k + 1] && grid[k + 1] > grid[k]) return k;
    return -1;
  };
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      // skimage's output coordinate (x, y) = (col, row); the inverse map takes it to the source
      const j = cell(col, xs);
      const i = cell(row, ys);
      if (j < 0 || i < 0) continue;
      const u = (col - xs[j]) / (xs[j + 1] - xs[j]);
      const v = (row - ys[i]) / (ys[i + 1] - ys[i]);
      // triangles (j,i)-(j+1,i)-(j+1,i+1) below the diagonal, (j,i)-(j+1,i+1)-(j,i+1) above it
      const [a, b, d] = u >= v ? [moved[j][i], moved[j + 1][i], moved[j + 1][i + 1]] : [moved[j][i], moved[j + 1][i + 1], moved[j][i + 1]];
      const [wa, wb, wd] = u >= v ? [1 - u, u - v, v] : [1 - v, u, v - u];
      const sx = wa * a[0] + wb * b[0] + wd * d[0];
      const sy = wa * a[1] + wb * b[1] + wd * d[1];
      const sc = Math.round(sx);
      const sr = Math.round(sy);
      if (sc >= 0 && sc < w && sr >= 0 && sr < h) warped[row * w + col] = mask[sr * w + sc] * mask[row * w + col];
    }
  }
  const src = c.matFromArray(h, w, c.CV_32FC1, warped);
  const dst = new c.Mat();
  return withMats([src, dst], () => {
    c.GaussianBlur(src, dst, new c.Size(5, 5), 3);
    return new Float32Array(dst.data32F);
  });
}

/** cv2.warpAffine(…, INTER_CUBIC, BORDER_REFLECT) of a uint8 image with `type` channels layout. */
function warp(c: Cv, data: Uint8Array | Float32Array, w: number, h: number, type: number, m: Affine): Uint8Array | Float32Array {
  const src = type === c.CV_32FC1 ? c.matFromArray(h, w, type, data) : new c.Mat(h, w, type);
  if (type !== c.CV_32FC1) src.data.set(data);
  const dst = new c.Mat();
  const mat = c.matFromArray(2, 3, c.CV_64FC1, m);
  return withMats([src, dst, mat], () => {
    c.warpAffine(src, dst, mat, new c.Size(w, h), c.INTER_CUBIC, c.BORDER_REFLECT);
    return type === c.CV_32FC1 ? new Float32Array(dst.data32F) : new Uint8Array(dst.data);
  });
}

/** `mask_postprocess`: erode (p 0.3) or dilate (p 0.3) by a k×k square, k odd in 3–19; then (p 0.9) a Gaussian blur, k odd in 1–17. */
function maskPostprocess(c: Cv, mask: Uint8Array, w: number, h: number, rng: () => number): Uint8Array {
  let m = mask;
  const randint = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo));
  const p = rng();
  if (p < 0.6) {
    const k = 2 * randint(1, 10) + 1;
    const src = new c.Mat(h, w, c.CV_8UC1);
    const dst = new c.Mat();
    const kernel = c.Mat.ones(k, k, c.CV_8UC1);
    m = withMats([src, dst, kernel], () => {
      src.data.set(m);
      if (p < 0.3) c.erode(src, dst, kernel);
      else c.dilate(src, dst, kernel);
      return new Uint8Array(dst.data);
    });
  }
  if (rng() < 0.9) {
    const k = 2 * randint(1, 10) - 1;
    const src = new c.Mat(h, w, c.CV_8UC1);
    const dst = new c.Mat();
    m = withMats([src, dst], () => {
      src.data.set(m);
      c.GaussianBlur(src, dst, new c.Size(k, k), 0);
      return new Uint8Array(dst.data);
    });
  }
  return m;
}

/** `colorTransfer_fs`: the fake's masked pixels shifted to the real face's masked mean (per channel, clipped, truncated). */
function colourMeanShift(src: Uint8Array, real: Uint8Array, mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(src);
  const n = mask.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
  for (let ch = 0; ch < 3; ch++) {
    let ms = 0;
    let mr = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) [ms, mr] = [ms + src[i * 3 + ch], mr + real[i * 3 + ch]];
    const shift = (mr - ms) / n;
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) out[i * 3 + ch] = Math.trunc(Math.min(Math.max(src[i * 3 + ch] + shift, 0), 255));
  }
  return out;
}

/** `colorTransfer_avg`: (fake·mask) + (mean(real·mask) − mean(fake·mask)) per channel over the whole image, clipped to [0, 1]. */
function colourAverage(src: Uint8Array, real: Uint8Array, mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  const n = mask.length;
  for (let ch = 0; ch < 3; ch++) {
    let ms = 0;
    let mr = 0;
    for (let i = 0; i < n; i++) if (mask[i] !== 0) [ms, mr] = [ms + src[i * 3 + ch] / 255, mr + real[i * 3 + ch] / 255];
    const diff = (mr - ms) / n;
    for (let i = 0; i < n; i++) out[i * 3 + ch] = Math.trunc(255 * Math.min(Math.max((mask[i] !== 0 ? src[i * 3 + ch] / 255 : 0) + diff, 0), 1));
  }
  return out;
}

/**
 * `reinhard_color_transfer(fake, real, source_mask=mask, target_mask=mask)`: per L*a*b* channel
 * (cv2's BGR2LAB on the RGB arrays, as the official code calls it), (σ_real/σ_fake)·(x − μ_fake) +
 * μ_real with the statistics of the masked images over every pixel, min–max rescaled into
 * [0, 255] when out of range, truncated, back through LAB2BGR.
 */
function colourReinhard(c: Cv, src: Uint8Array, real: Uint8Array, mask: Uint8Array, w: number, h: number): Uint8Array {
  const lab = (rgb: Uint8Array) => {
    const a = new c.Mat(h, w, c.CV_8UC3);
    const b = new c.Mat();
    return withMats([a, b], () => {
      a.data.set(rgb);
      c.cvtColor(a, b, c.COLOR_BGR2Lab);
      return new Uint8Array(b.data);
    });
  };
  const [s, r] = [lab(src), lab(real)];
  const n = w * h;
  const out = new Uint8Array(3 * n);
  for (let ch = 0; ch < 3; ch++) {
    const stats = (img: Uint8Array) => {
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        const v = img[i * 3 + ch] * mask[i];
        sum += v;
        sq += v * v;
      }
      const mean = sum / n;
      return { mean, std: Math.sqrt(Math.max(sq / n - mean * mean, 0)) };
    };
    const [t, so] = [stats(s), stats(r)];
    const scale = t.std > 0 ? so.std / t.std : 0;
    const vals = new Float64Array(n).map((_, i) => scale * (s[i * 3 + ch] - t.mean) + so.mean);
    let [mn, mx] = [Infinity, -Infinity];
    for (const v of vals) [mn, mx] = [Math.min(mn, v), Math.max(mx, v)];
    const [lo, hi] = [Math.max(mn, 0), Math.min(mx, 255)];
    const rescale = mn < lo || mx > hi;
    for (let i = 0; i < n; i++) out[i * 3 + ch] = Math.trunc(rescale ? ((hi - lo) * (vals[i] - mn)) / (mx - mn) + lo : vals[i]);
  }
  const a = new c.Mat(h, w, c.CV_8UC3);
  const b = new c.Mat();
  return withMats([a, b], () => {
    a.data.set(out);
    c.cvtColor(a, b, c.COLOR_Lab2BGR);
    return new Uint8Array(b.data);
  });
}

/**
 * `faceswap.correct_colours(real·mask, fake·mask, real landmarks)`: both masked images blurred by a
 * k×k Gaussian (k = int(0.75 · the distance of the eye centres 36–41 / 42–47), made odd; σ from k),
 * then fake · blur(real) / blur(fake) (blurred values ≤ 1 raised by 128), clipped and truncated.
 */
function colourFaceswap(c: Cv, src: Uint8Array, real: Uint8Array, mask: Uint8Array, landmarks: readonly Point[], w: number, h: number): Uint8Array {
  const mean = (from: number): Point => {
    const pts = landmarks.slice(from, from + 6);
    return [pts.reduce((a, p) => a + p[0], 0) / 6, pts.reduce((a, p) => a + p[1], 0) / 6];
  };
  let k = Math.trunc(0.75 * dist(mean(42), mean(36)));
  if (k % 2 === 0) k += 1;
  const masked = (img: Uint8Array) => Uint8Array.from(img, (v, i) => (mask[Math.floor(i / 3)] !== 0 ? v : 0));
  const blur = (img: Uint8Array) => {
    const a = new c.Mat(h, w, c.CV_8UC3);
    const b = new c.Mat();
    return withMats([a, b], () => {
      a.data.set(img);
      c.GaussianBlur(a, b, new c.Size(k, k), 0);
      return new Uint8Array(b.data);
    });
  };
  const [im1, im2] = [masked(real), masked(src)];
  const [b1, b2] = [blur(im1), blur(im2)];
  return Uint8Array.from(im2, (v, i) => {
    const d = b2[i] <= 1 ? b2[i] + 128 : b2[i];
    return Math.trunc(Math.min(Math.max((v * b1[i]) / d, 0), 255));
  });
}

/**
 * `faceswap_utils.blendImages`: every mask pixel takes w·fake + (1 − w)·real, w = clip(d / feather, 0, 1)
 * with d = cv2.pointPolygonTest(hull, p, measureDist=False) (1 inside the mask's convex hull, 0 on
 * it) and feather = featherAmount · the mask's larger extent; the result is truncated to uint8.
 */
function alphaBlend(fake: Uint8Array, real: Uint8Array, mask: Uint8Array, w: number, featherAmount: number): Uint8Array {
  const pts: Point[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) pts.push([i % w, Math.floor(i / w)]);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const size = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const feather = featherAmount * size;
  const hull = convexHullOf(pts);
  const onHull = (p: Point) =>
    hull.some((a, k) => {
      const b = hull[(k + 1) % hull.length];
      const cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
      return cross === 0 && Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
    });
  const out = new Uint8Array(real);
  for (const p of pts) {
    const weight = onHull(p) ? 0 : Math.min(Math.max(1 / feather, 0), 1);
    const i = p[1] * w + p[0];
    for (let ch = 0; ch < 3; ch++) out[i * 3 + ch] = Math.trunc(weight * fake[i * 3 + ch] + (1 - weight) * real[i * 3 + ch]);
  }
  return out;
}

/** Andrew's monotone chain on integer points (collinear points dropped). */
function convexHullOf(points: readonly Point[]): Point[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (pts: Point[]) => {
    const h: Point[] = [];
    for (const q of pts) {
      while (h.length >= 2 && cross(h[h.length - 2], h[h.length - 1], q) <= 0) h.pop();
      h.push(q);
    }
    return h.slice(0, -1);
  };
  return [...half(p), ...half([...p].reverse())];
}

/**
 * `cv2.seamlessClone(fake, real, mask, centre, NORMAL_CLONE)` with fake and real aligned: inside the
 * mask, the image whose Laplacian is the fake's and whose values at the mask border are the real
 * image's, solved by successive over-relaxation (named deviation: OpenCV solves it by sine transform).
 */
function poissonClone(fake: Uint8Array, real: Uint8Array, mask: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(real);
  const inside: number[] = [];
  for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) if (mask[y * w + x] !== 0) inside.push(y * w + x);
  for (let ch = 0; ch < 3; ch++) {
    const f = Float64Array.from({ length: w * h }, (_, i) => real[i * 3 + ch]);
    const lap = new Float64Array(w * h);
    for (const i of inside) lap[i] = 4 * fake[i * 3 + ch] - fake[(i - 1) * 3 + ch] - fake[(i + 1) * 3 + ch] - fake[(i - w) * 3 + ch] - fake[(i + w) * 3 + ch];
    for (const i of inside) f[i] = fake[i * 3 + ch];
    for (let it = 0; it < 300; it++) for (const i of inside) f[i] += 1.9 * ((lap[i] + f[i - 1] + f[i + 1] + f[i - w] + f[i + w]) / 4 - f[i]);
    for (const i of inside) out[i * 3 + ch] = Math.min(Math.max(Math.round(f[i]), 0), 255);
  }
  return out;
}

/** `blend_fake_to_real`'s colour transfer of the aligned fake (interleaved RGB, the real image's size) towards `real` inside `mask`. */
export async function sladdColourTransfer(mode: SladdColourMode, aligned: Uint8Array, real: FaceImage, mask: Uint8Array): Promise<Uint8Array> {
  const { c } = await opencv();
  const { width: w, height: h, data } = real.image;
  if (mode === 'rct-fs') return colourMeanShift(aligned, data, mask);
  if (mode === 'avg-align') return colourAverage(aligned, data, mask);
  if (mode === 'faceswap') return colourFaceswap(c, aligned, data, mask, real.landmarks, w, h);
  return colourReinhard(c, aligned, data, mask, w, h);
}

/**
 * One synthesizer forgery (`synthesizer.forward` for a real image whose action type ≠ 3): the
 * region mask from the fake face's landmarks, deformed; the fake aligned onto the real face by the
 * similarity of their five alignment points; colour transfer; the blend of `action.type`.
 */
export async function sladdForgery(real: FaceImage, fake: FaceImage, action: SladdAction, rng: () => number): Promise<SladdForgery> {
  const { c } = await opencv();
  const { width: w, height: h } = real.image;
  if (fake.image.width !== w || fake.image.height !== h)
    throw new ArgumentError('fake', `a face image of the real one's size, ${w}×${h}`, `${fake.image.width}×${fake.image.height}`);
  if (!(action.type >= 0 && action.type <= 2))
    throw new ArgumentError('action.type', 'a blend type 0–2 (3 keeps the real image and forges nothing)', action.type);
  const region = await sladdRegionMask(action.region, sladdKeyPoints(fake.landmarks), w, h);
  const deformed = await sladdRandomDeform(region, w, h, rng);
  const m = fitSimilarity(alignPoints(fake.landmarks), alignPoints(real.landmarks));
  const aligned = warp(c, fake.image.data, w, h, c.CV_8UC3, m) as Uint8Array;
  const warpedMask = warp(c, deformed, w, h, c.CV_32FC1, m) as Float32Array;
  const mask = maskPostprocess(
    c,
    Uint8Array.from(warpedMask, (v) => (v > 0 ? 1 : 0)),
    w,
    h,
    rng,
  );
  const mode = SLADD_COLOUR_MODES[Math.floor(rng() * SLADD_COLOUR_MODES.length)];
  const colour = await sladdColourTransfer(mode, aligned, real, mask);
  const coverage = mask.reduce((a, v) => a + v, 0) / mask.length;
  const forged = coverage >= 0.005 && colour.some((v) => v !== 0);
  let data = real.image.data;
  if (forged) {
    if (action.type === 0) data = alphaBlend(colour, real.image.data, mask, w, 0.2 * rng());
    else if (action.type === 1) data = poissonClone(colour, real.image.data, mask, w, h);
    else
      data = Uint8Array.from(real.image.data, (v, k) =>
        Math.trunc(colour[k] * mask[Math.floor(k / 3)] * action.mag + v * (1 - mask[Math.floor(k / 3)]) + v * mask[Math.floor(k / 3)] * (1 - action.mag)),
      );
  }
  return { image: { width: w, height: h, data: new Uint8Array(data) }, mask, mask16: resizeCubic(mask, w, h, 1, 16, 16), forged };
}
