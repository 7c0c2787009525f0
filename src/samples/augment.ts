/**
 * Training and evaluation transforms of the reference (`datasets/transforms.py`, official-spec
 * §8.4) on decoded uint8 images, and the paper's flip-only preset. Images arrive BGR, as
 * cv2.imread gives them; the photometric step keeps the reference's RGB2HSV-on-BGR quirk.
 * Every random draw comes from the Rng passed in, so a sample's augmentation is a function of
 * (seed, epoch, index).
 */
import type { ImageOps } from '../image/index.js';
import { officialPreprocess, preprocess, type PreprocessSpec } from '../image/preprocess.js';
import type { Rng } from './rng.js';

/** The augmentation presets: `official` (the code's list) and `paper` (flip only, the paper's text). */
export const AUGMENT_PRESETS = ['official', 'paper'] as const;
export type AugmentPreset = (typeof AUGMENT_PRESETS)[number];

/** Mask value ignored by the losses (and the reference's padding value). */
export const IGNORE = 255;
/** ImageNet mean and std of the reference's Normalize, RGB order (the official PreprocessSpec's). */
export const MEAN_RGB = officialPreprocess(1).mean;
export const STD_RGB = officialPreprocess(1).std;

/** A decoded sample: interleaved BGR image and grayscale mask of the same size. */
export interface Decoded {
  readonly bgr: Uint8Array;
  readonly mask: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Model input: normalised RGB [3, S, S] and a target mask [S, S] of 0, 1 or 255 (ignored). */
export interface Transformed {
  readonly image: Float32Array;
  readonly target: Uint8Array;
  readonly size: number;
}

export interface TrainTransformOptions {
  readonly preset: AugmentPreset;
  /** crop side S (official 512) */
  readonly cropSize: number;
  /** official rescale base side (520 for a 512 crop) */
  readonly scaleBase: number;
  /** the model's normalisation (its PreprocessSpec's mean, std and channel order); default MSCCNet's */
  readonly normalize?: Pick<PreprocessSpec, 'channelOrder' | 'mean' | 'std'>;
  /** the `paper` preset's image resize: the model's PreprocessSpec resize (default cv2-linear; SLADD cv2-cubic) */
  readonly resize?: PreprocessSpec['resize'];
}

/** The reference's train-mode target: `seg[seg == 255] = 1`; other values but 0/1 become ignored (the reference would crash on them). */
export function trainTarget(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i];
    out[i] = v === 255 || v === 1 ? 1 : v === 0 ? 0 : IGNORE;
  }
  return out;
}

/** The augmented crop before normalisation: BGR uint8 [h, w, 3] and its train target [h, w], w, h ≤ S. */
export interface TrainCrop {
  readonly bgr: Uint8Array;
  readonly seg: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** One training sample through the chosen preset. */
export function trainTransform(ops: ImageOps, d: Decoded, rng: Rng, o: TrainTransformOptions): Transformed {
  return padCrop(trainCrop(ops, d, rng, o), o);
}

/** Steps 5–7 of the official list: Normalize (BGR → RGB), ToTensor, centred padding (image 0, mask 255) to S×S. */
export function padCrop(c: TrainCrop, o: Pick<TrainTransformOptions, 'cropSize' | 'normalize'>): Transformed {
  const S = o.cropSize;
  return { image: normalise(c.bgr, c.width, c.height, S, o.normalize), target: padMask(c.seg, c.width, c.height, S), size: S };
}

/** The augmentations of the chosen preset, up to (not including) normalisation and padding. */
export function trainCrop(ops: ImageOps, d: Decoded, rng: Rng, o: TrainTransformOptions): TrainCrop {
  let img = d.bgr;
  let seg = trainTarget(d.mask);
  let w = d.width;
  let h = d.height;
  const S = o.cropSize;
  if (o.preset === 'paper') {
    img = ops.resize(img, w, h, 3, S, S, o.resize === 'cv2-cubic' ? 'cubic' : 'linear');
    seg = ops.resize(seg, w, h, 1, S, S, 'nearest');
    if (rng.random() < 0.5) {
      img = flip(img, S, S, 3);
      seg = flip(seg, S, S, 1);
    }
    return { bgr: img, seg, width: S, height: S };
  }
  // 1. Resize, keep ratio, scale range (0.5, 2.0) of scaleBase
  const L = Math.trunc(o.scaleBase * rng.uniform(0.5, 2.0));
  const scale = Math.min(L / Math.max(h, w), L / Math.min(h, w));
  const nw = Math.trunc(w * scale + 0.5);
  const nh = Math.trunc(h * scale + 0.5);
  img = ops.resize(img, w, h, 3, nw, nh, 'linear');
  seg = ops.resize(seg, w, h, 1, nw, nh, 'nearest');
  w = nw;
  h = nh;
  // 2. RandomCrop with the one-category ratio rule (≤ 10 tries, the last one is kept)
  const ch = Math.min(S, h);
  const cw = Math.min(S, w);
  let y0 = 0;
  let x0 = 0;
  for (let t = 0; t < 10; t++) {
    y0 = rng.randint(0, h - ch + 1);
    x0 = rng.randint(0, w - cw + 1);
    if (acceptCrop(seg, w, x0, y0, cw, ch)) break;
  }
  img = crop(img, w, 3, x0, y0, cw, ch);
  seg = crop(seg, w, 1, x0, y0, cw, ch);
  w = cw;
  h = ch;
  // 3. RandomFlip, p = 0.5
  if (rng.random() < 0.5) {
    img = flip(img, w, h, 3);
    seg = flip(seg, w, h, 1);
  }
  // 4. PhotoMetricDistortion
  return { bgr: photometric(ops, img, w, h, rng), seg, width: w, height: h };
}

/** The evaluation transform: the model's PreprocessSpec (resize to exactly S×S, no ratio; normalise), the one `detect` applies. */
export function evalTransform(d: Decoded, spec: PreprocessSpec): Float32Array {
  return preprocess({ width: d.width, height: d.height, data: d.bgr }, spec, 'bgr');
}

/** The crop is accepted when it holds ≥ 2 labels (255 excluded) and the largest covers < 75 %. */
function acceptCrop(seg: Uint8Array, w: number, x0: number, y0: number, cw: number, ch: number): boolean {
  const counts = new Map<number, number>();
  for (let y = y0; y < y0 + ch; y++) {
    for (let x = x0; x < x0 + cw; x++) {
      const v = seg[y * w + x];
      if (v !== IGNORE) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  if (counts.size < 2) return false;
  let total = 0;
  let max = 0;
  for (const c of counts.values()) {
    total += c;
    max = Math.max(max, c);
  }
  return max / total < 0.75;
}

function crop(src: Uint8Array, w: number, c: number, x0: number, y0: number, cw: number, ch: number): Uint8Array {
  const out = new Uint8Array(cw * ch * c);
  for (let y = 0; y < ch; y++) out.set(src.subarray(((y0 + y) * w + x0) * c, ((y0 + y) * w + x0 + cw) * c), y * cw * c);
  return out;
}

function flip(src: Uint8Array, w: number, h: number, c: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = src[(y * w + (w - 1 - x)) * c + k];
    }
  }
  return out;
}

/** mmseg's `convert`: float32 x·alpha + beta, clip to [0, 255], truncate to uint8. */
function convert(src: Uint8Array, alpha: number, beta: number, stride = 1, offset = 0): Uint8Array {
  const out = new Uint8Array(src);
  const a = Math.fround(alpha);
  const b = Math.fround(beta);
  for (let i = offset; i < src.length; i += stride) {
    const v = Math.fround(Math.fround(src[i] * a) + b);
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return out;
}

/** mmseg PhotoMetricDistortion with its default parameters (official-spec §8.4 step 4). */
function photometric(ops: ImageOps, img: Uint8Array, w: number, h: number, rng: Rng): Uint8Array {
  let out = img;
  if (rng.randint(0, 2)) out = convert(out, 1, rng.uniform(-32, 32)); // brightness
  const mode = rng.randint(0, 2);
  const contrast = (): void => {
    if (rng.randint(0, 2)) out = convert(out, rng.uniform(0.5, 1.5), 0);
  };
  if (mode === 1) contrast();
  if (rng.randint(0, 2)) {
    // saturation
    const hsv = convert(ops.cvtColor(out, w, h, 'RGB2HSV'), rng.uniform(0.5, 1.5), 0, 3, 1);
    out = ops.cvtColor(hsv, w, h, 'HSV2RGB');
  }
  if (rng.randint(0, 2)) {
    // hue
    const hsv = ops.cvtColor(out, w, h, 'RGB2HSV');
    const shift = rng.randint(-18, 18);
    for (let i = 0; i < hsv.length; i += 3) hsv[i] = (((hsv[i] + shift) % 180) + 180) % 180;
    out = ops.cvtColor(hsv, w, h, 'HSV2RGB');
  }
  if (mode === 0) contrast();
  return out;
}

/** BGR uint8 [h, w, 3] → float32 [3, S, S] normalised in the spec's channel order (RGB by default), centred in an S×S canvas of zeros. */
function normalise(
  bgr: Uint8Array,
  w: number,
  h: number,
  S: number,
  spec: Pick<PreprocessSpec, 'channelOrder' | 'mean' | 'std'> = officialPreprocess(1),
): Float32Array {
  const out = new Float32Array(3 * S * S);
  const top = (S - h) >> 1;
  const left = (S - w) >> 1;
  for (let c = 0; c < 3; c++) {
    const plane = c * S * S;
    const mean = spec.mean[c];
    const std = spec.std[c];
    const k = spec.channelOrder === 'bgr' ? c : 2 - c;
    for (let y = 0; y < h; y++) {
      const row = plane + (y + top) * S + left;
      for (let x = 0; x < w; x++) out[row + x] = (bgr[(y * w + x) * 3 + k] - mean) / std;
    }
  }
  return out;
}

function padMask(seg: Uint8Array, w: number, h: number, S: number): Uint8Array {
  if (w === S && h === S) return seg;
  const out = new Uint8Array(S * S).fill(IGNORE);
  const top = (S - h) >> 1;
  const left = (S - w) >> 1;
  for (let y = 0; y < h; y++) out.set(seg.subarray(y * w, (y + 1) * w), (y + top) * S + left);
  return out;
}
