/**
 * The inference contract: how a crop becomes the model's input (official-spec §8.4, test
 * transform): resize to exactly inputSize² with `cv2.resize(…, INTER_LINEAR)`, 8-bit values,
 * then (x − mean) / std per RGB channel, CHW float32. A model carries its PreprocessSpec; this
 * file is the one place that applies it, for training's eval transform, validation, `evaluate`,
 * `detect`, `serve` and the browser page. Pure TypeScript on typed arrays (no Node imports), so
 * the browser bundle runs the same numerics.
 */

/** How the model expects its input; stored with the model (weights file and ONNX metadata). */
export interface PreprocessSpec {
  /** square input side (official 512) */
  readonly inputSize: number;
  /** the input's channel order (default 'rgb'; 'bgr' where the official code feeds cv2.imread's planes as they are, MVSS-Net) */
  readonly channelOrder?: 'rgb' | 'bgr';
  /** per-channel mean on 0–255 values, in the input's channel order */
  readonly mean: readonly [number, number, number];
  /** per-channel std, in the input's channel order */
  readonly std: readonly [number, number, number];
  /**
   * `cv2-linear`: cv2.resize INTER_LINEAR on uint8, bit-exact (fixed-point) to OpenCV's x86 build;
   * `cv2-cubic`: INTER_CUBIC on uint8, OpenCV's fixed-point path as opencv.js runs it (SLADD's
   * `FFdata.py`); x86 cv2 rounds a float sum in its vertical pass and may differ by 1 where the exact
   * value lies within ~1e-5 of a half
   */
  readonly resize: 'cv2-linear' | 'cv2-cubic';
}

/** The reference's Normalize (ImageNet statistics, RGB) and resize, for a model of side `inputSize`. */
export function officialPreprocess(inputSize: number): PreprocessSpec {
  return { inputSize, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], resize: 'cv2-linear' };
}

/** An 8-bit image, row-major, 3 channels interleaved in `order`. */
export interface PixelImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A pixel rectangle inside an image. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const COEF_BITS = 11; // OpenCV's INTER_RESIZE_COEF_BITS
const COEF_SCALE = 1 << COEF_BITS;

/** Round half to even, as cvRound / saturate_cast<short>(float). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * OpenCV's source index and fixed-point weights of each destination position (resize.cpp,
 * linear). Columns past an edge take the edge pixel with weights (1, 0); rows keep their
 * fraction and read the clamped row twice (`clampWeights` false), as OpenCV does.
 */
function linearTable(src: number, dst: number, clampWeights: boolean): { ofs: Int32Array; a0: Int32Array; a1: Int32Array } {
  const scale = src / dst;
  const ofs = new Int32Array(dst);
  const a0 = new Int32Array(dst);
  const a1 = new Int32Array(dst);
  for (let d = 0; d < dst; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5); // computed in double, kept as float
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clampWeights && s < 0) {
      f = 0;
      s = 0;
    }
    if (clampWeights && s >= src - 1) {
      f = 0;
      s = src - 1;
    }
    ofs[d] = s;
    a0[d] = roundEven(Math.fround(Math.fround(1 - f) * COEF_SCALE));
    a1[d] = roundEven(Math.fround(f * COEF_SCALE));
  }
  return { ofs, a0, a1 };
}

/**
 * `cv2.resize(src, (dw, dh), interpolation=INTER_LINEAR)` on interleaved uint8 with `channels`
 * channels, bit for bit: same size is a copy, an exact 2× reduction is OpenCV's fast area path,
 * otherwise the fixed-point separable filter (11-bit weights; the vertical pass as x86 SIMD
 * computes it, which is what Python's cv2 runs).
 */
export function resizeLinear(src: Uint8Array, w: number, h: number, channels: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * channels);
  if (dw === w && dh === h) {
    out.set(src.subarray(0, out.length));
    return out;
  }
  if (w === 2 * dw && h === 2 * dh) {
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        for (let c = 0; c < channels; c++) {
          const i = (2 * y * w + 2 * x) * channels + c;
          const j = i + w * channels;
          out[(y * dw + x) * channels + c] = (src[i] + src[i + channels] + src[j] + src[j + channels] + 2) >> 2;
        }
      }
    }
    return out;
  }
  const xt = linearTable(w, dw, true);
  const yt = linearTable(h, dh, false);
  const rowLen = dw * channels;
  // horizontal pass of each source row that a destination row needs, cached by row index
  const cache = new Map<number, Int32Array>();
  const hrow = (sy: number): Int32Array => {
    let r = cache.get(sy);
    if (r !== undefined) return r;
    r = new Int32Array(rowLen);
    const base = sy * w * channels;
    for (let x = 0; x < dw; x++) {
      const s0 = base + xt.ofs[x] * channels;
      const s1 = base + Math.min(xt.ofs[x] + 1, w - 1) * channels;
      for (let c = 0; c < channels; c++) r[x * channels + c] = src[s0 + c] * xt.a0[x] + src[s1 + c] * xt.a1[x];
    }
    if (cache.size > 4) cache.delete(cache.keys().next().value as number);
    cache.set(sy, r);
    return r;
  };
  for (let y = 0; y < dh; y++) {
    const r0 = hrow(Math.min(Math.max(yt.ofs[y], 0), h - 1));
    const r1 = hrow(Math.min(Math.max(yt.ofs[y] + 1, 0), h - 1));
    const b0 = yt.a0[y];
    const b1 = yt.a1[y];
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      // v_mul_hi on (S >> 4) as int16, then a rounding shift by 2 (VResizeLinearVec_32s8u)
      const v = (Math.floor(((r0[i] >> 4) * b0) / 65536) + Math.floor(((r1[i] >> 4) * b1) / 65536) + 2) >> 2;
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/** OpenCV's `interpolateCubic` (A = −0.75) in float32, as 11-bit fixed-point taps (saturate_cast<short>: round half even). */
function cubicTable(src: number, dst: number): { ofs: Int32Array; taps: Int32Array } {
  const f = Math.fround;
  const A = -0.75;
  const scale = src / dst;
  const ofs = new Int32Array(dst);
  const taps = new Int32Array(dst * 4);
  for (let d = 0; d < dst; d++) {
    const pos = f((d + 0.5) * scale - 0.5);
    const s = Math.floor(pos);
    const x = f(pos - s);
    const c0 = f(f(f(f(f(f(A * f(x + 1)) - 5 * A) * f(x + 1)) + 8 * A) * f(x + 1)) - 4 * A);
    const c1 = f(f(f(f(f((A + 2) * x) - (A + 3)) * x) * x) + 1);
    const c2 = f(f(f(f(f((A + 2) * f(1 - x)) - (A + 3)) * f(1 - x)) * f(1 - x)) + 1);
    const c3 = f(f(f(1 - c0) - c1) - c2);
    ofs[d] = s;
    [c0, c1, c2, c3].forEach((c, k) => (taps[d * 4 + k] = roundEven(f(c * COEF_SCALE))));
  }
  return { ofs, taps };
}

/**
 * `cv2.resize(src, (dw, dh), interpolation=INTER_CUBIC)` on interleaved uint8: OpenCV's separable
 * fixed-point filter (HResizeCubic into int, VResizeCubic with FixedPtCast, 22-bit rounding
 * shift), taps past an edge replicated. Same size is a copy.
 */
export function resizeCubic(src: Uint8Array, w: number, h: number, channels: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * channels);
  if (dw === w && dh === h) {
    out.set(src.subarray(0, out.length));
    return out;
  }
  const xt = cubicTable(w, dw);
  const yt = cubicTable(h, dh);
  const rowLen = dw * channels;
  const clampX = (i: number) => (i < 0 ? 0 : i >= w ? w - 1 : i);
  const hrow = (sy: number): Int32Array => {
    const r = new Int32Array(rowLen);
    const base = sy * w * channels;
    for (let x = 0; x < dw; x++) {
      for (let c = 0; c < channels; c++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += src[base + clampX(xt.ofs[x] - 1 + k) * channels + c] * xt.taps[x * 4 + k];
        r[x * channels + c] = v;
      }
    }
    return r;
  };
  const cache = new Map<number, Int32Array>();
  const row = (sy: number): Int32Array => {
    const y = sy < 0 ? 0 : sy >= h ? h - 1 : sy;
    let r = cache.get(y);
    if (r === undefined) {
      r = hrow(y);
      if (cache.size > 6) cache.delete(cache.keys().next().value as number);
      cache.set(y, r);
    }
    return r;
  };
  const half = 1 << (2 * COEF_BITS - 1);
  const shift = 2 ** (2 * COEF_BITS);
  for (let y = 0; y < dh; y++) {
    const rows = [0, 1, 2, 3].map((k) => row(yt.ofs[y] - 1 + k));
    const b = yt.taps.subarray(y * 4, y * 4 + 4);
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) {
      const sum = rows[0][i] * b[0] + rows[1][i] * b[1] + rows[2][i] * b[2] + rows[3][i] * b[3];
      const v = Math.floor((sum + half) / shift); // an arithmetic right shift by 22
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/**
 * The crop `box` of an 8-bit 3-channel image → `spec` input, written into `out` at `offset` as
 * normalised CHW float32 in the spec's channel order. `order` says how the image's channels are
 * stored (`bgr` for cv2-style buffers, as the training loader decodes them).
 */
export function preprocessInto(image: PixelImage, box: Box, spec: PreprocessSpec, out: Float32Array, offset: number, order: 'rgb' | 'bgr' = 'rgb'): void {
  const full = box.x === 0 && box.y === 0 && box.width === image.width && box.height === image.height;
  const crop = full ? image.data : cropPixels(image, box);
  const S = spec.inputSize;
  const resized = (spec.resize === 'cv2-cubic' ? resizeCubic : resizeLinear)(crop, box.width, box.height, 3, S, S);
  const n = S * S;
  for (let c = 0; c < 3; c++) {
    const k = order === (spec.channelOrder ?? 'rgb') ? c : 2 - c;
    const mean = spec.mean[c];
    const std = spec.std[c];
    const plane = offset + c * n;
    for (let i = 0; i < n; i++) out[plane + i] = (resized[i * 3 + k] - mean) / std;
  }
}

/** `preprocessInto` a new [3, S, S] array. */
export function preprocess(image: PixelImage, spec: PreprocessSpec, order: 'rgb' | 'bgr' = 'rgb'): Float32Array {
  const out = new Float32Array(3 * spec.inputSize * spec.inputSize);
  preprocessInto(image, { x: 0, y: 0, width: image.width, height: image.height }, spec, out, 0, order);
  return out;
}

function cropPixels(image: PixelImage, box: Box): Uint8Array {
  const out = new Uint8Array(box.width * box.height * 3);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.y + y) * image.width + box.x) * 3;
    out.set(image.data.subarray(from, from + box.width * 3), y * box.width * 3);
  }
  return out;
}
