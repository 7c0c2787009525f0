import { ArgumentError } from '../../errors.js';
import {
  affineAbout,
  blend,
  blurMask,
  convexHull,
  fillPolygon,
  fitSimilarity,
  scalePolygon,
  uniform,
  warpAffine,
  type Affine,
  type Point,
  type RgbImage,
} from './geometry.js';

/** A face image with its 68 iBUG landmarks (jaw 0–16, brows 17–26, nose 27–35, eyes 36–47, mouth 48–67). */
export interface FaceImage {
  image: RgbImage;
  landmarks: readonly Point[];
}

/**
 * A synthetic fake and its exactly known mask: `alpha` is the per-pixel weight of the manipulated
 * content in the fake (fake = alpha·source + (1 − alpha)·real), so `alpha > 0` is where pixels may change.
 */
export interface Forgery {
  fake: RgbImage;
  alpha: Float32Array;
}

/** Five synthetic kinds standing in for FF++'s five methods in the demo (none is a real deepfake method). */
export const FORGERY_KINDS = ['self-blend', 'region-swap', 'mouth-rewarp', 'eye-rewarp', 'lower-swap'] as const;
export type ForgeryKind = (typeof FORGERY_KINDS)[number];

/** Parameters drawn once per forged video, so every frame is manipulated the same way. */
export interface ForgeryParams {
  /** Region hull scale about its centroid (< 1 shrinks it inside the landmarks). */
  regionScale: number;
  /** Blend edge softness (box-blur radius, px, three passes). */
  blurRadius: number;
  /** self-blend: source affine (degrees, scale, shift in px) and colour jitter (gain, bias per channel). */
  rotation: number;
  scale: number;
  shift: Point;
  gain: [number, number, number];
  bias: [number, number, number];
  /** mouth-rewarp / eye-rewarp: stretch of the mouth / eye area. */
  stretch: Point;
}

/** Random parameters near the ranges the prototype measured (research/data.md §5), from a seeded `rng`. */
export function sampleForgeryParams(kind: ForgeryKind, rng: () => number): ForgeryParams {
  const u = (lo: number, hi: number): number => uniform(rng, lo, hi);
  const sign = (): number => (rng() < 0.5 ? -1 : 1);
  return {
    regionScale: kind === 'mouth-rewarp' || kind === 'eye-rewarp' ? u(1.05, 1.15) : u(0.85, 0.97),
    blurRadius: Math.round(u(2, 3)), // three box passes: σ ≈ 2.5–3.5 px, a soft but short blend edge
    // A visible misalignment (≥ 2 px, ≥ 3 % scale): SSIM sees structure, not a smooth colour shift.
    rotation: u(-3, 3),
    scale: 1 + sign() * u(0.03, 0.06),
    shift: [sign() * u(2, 4), sign() * u(2, 4)],
    gain: [u(0.85, 1.2), u(0.85, 1.2), u(0.85, 1.2)],
    bias: [u(-14, 14), u(-14, 14), u(-14, 14)],
    stretch: [u(1.04, 1.12), u(1.08, 1.25)],
  };
}

const JAW_AND_BROWS = Array.from({ length: 27 }, (_, i) => i);
const MOUTH_AREA = [...Array.from({ length: 20 }, (_, i) => 48 + i), 33, 5, 11, 8];
const EYE_AREA = [...Array.from({ length: 10 }, (_, i) => 17 + i), ...Array.from({ length: 12 }, (_, i) => 36 + i), 28];
const LOWER_FACE = [...Array.from({ length: 13 }, (_, i) => 2 + i), ...Array.from({ length: 7 }, (_, i) => 29 + i)];
const REGION: Record<ForgeryKind, readonly number[]> = {
  'self-blend': JAW_AND_BROWS,
  'region-swap': JAW_AND_BROWS,
  'mouth-rewarp': MOUTH_AREA,
  'eye-rewarp': EYE_AREA,
  'lower-swap': LOWER_FACE,
};

function checkFace(f: FaceImage, name: string): void {
  if (f.landmarks.length !== 68) throw new ArgumentError(`${name}.landmarks`, '68 points', f.landmarks);
  if (f.image.data.length !== f.image.width * f.image.height * 3) throw new ArgumentError(`${name}.image`, 'RGB bytes of width × height × 3', f.image.data);
}

/**
 * The blend weight a forgery of `kind` uses on `face`: its landmark hull (jaw + brows, the mouth
 * area, the eyes and brows, or nose + mouth + lower jaw), scaled and softened. Frames that share landmarks can compute it once and pass it in.
 */
export function forgeryAlpha(kind: ForgeryKind, face: FaceImage, p: ForgeryParams): Float32Array {
  const { width, height } = face.image;
  const idx = REGION[kind];
  const hull = scalePolygon(convexHull(idx.map((i) => face.landmarks[i]!)), p.regionScale);
  return blurMask(fillPolygon(hull, width, height), width, height, p.blurRadius);
}

const centroid = (pts: readonly Point[]): Point => [pts.reduce((s, q) => s + q[0], 0) / pts.length, pts.reduce((s, q) => s + q[1], 0) / pts.length];

/** Self-blending (SBI / Face X-ray style): a colour-jittered, slightly moved copy of the face blended inside the jaw+brow hull. */
export function selfBlend(face: FaceImage, p: ForgeryParams, alpha = forgeryAlpha('self-blend', face, p)): Forgery {
  checkFace(face, 'face');
  const centre = centroid(face.landmarks);
  const moved = warpAffine(face.image, affineAbout(centre, p.rotation, p.scale, p.scale, p.shift[0], p.shift[1]));
  const jittered = new Uint8Array(moved.data.length);
  for (let i = 0; i < jittered.length; i++) {
    const ch = i % 3;
    jittered[i] = Math.min(255, Math.max(0, Math.round(moved.data[i]! * p.gain[ch as 0 | 1 | 2] + p.bias[ch as 0 | 1 | 2])));
  }
  return { fake: blend(face.image, { ...moved, data: jittered }, alpha), alpha };
}

/**
 * Region swap (FaceSwap style): the donor's face aligned onto the target's landmarks by a
 * least-squares similarity, colour-matched (per-channel mean/std inside the region), blended in the target's hull.
 */
export function regionSwap(target: FaceImage, donor: FaceImage, p: ForgeryParams, alpha = forgeryAlpha('region-swap', target, p)): Forgery {
  checkFace(target, 'target');
  checkFace(donor, 'donor');
  if (donor.image.width !== target.image.width || donor.image.height !== target.image.height) {
    throw new ArgumentError('donor.image', `${target.image.width}×${target.image.height} like the target`, `${donor.image.width}×${donor.image.height}`);
  }
  const toTarget: Affine = fitSimilarity(donor.landmarks, target.landmarks);
  const aligned = warpAffine(donor.image, toTarget);
  const matched = matchColours(aligned, target.image, alpha);
  return { fake: blend(target.image, matched, alpha), alpha };
}

/** Mouth re-warp (re-enactment style): the mouth area stretched about its centre, blended inside its hull. */
export function mouthRewarp(face: FaceImage, p: ForgeryParams, alpha = forgeryAlpha('mouth-rewarp', face, p)): Forgery {
  checkFace(face, 'face');
  const mouth = centroid(face.landmarks.slice(48, 68));
  const stretched = warpAffine(face.image, affineAbout(mouth, 0, p.stretch[0], p.stretch[1]));
  return { fake: blend(face.image, stretched, alpha), alpha };
}

/** Eye re-warp (upper-face re-enactment style): the eye and brow area stretched about its centre, blended inside its hull. */
export function eyeRewarp(face: FaceImage, p: ForgeryParams, alpha = forgeryAlpha('eye-rewarp', face, p)): Forgery {
  checkFace(face, 'face');
  const eyes = centroid(face.landmarks.slice(36, 48));
  const stretched = warpAffine(face.image, affineAbout(eyes, 0, p.stretch[1], p.stretch[0]));
  return { fake: blend(face.image, stretched, alpha), alpha };
}

/** Lower-face swap (partial face-swap style): the donor aligned as in `regionSwap`, blended only over nose, mouth and lower jaw. */
export function lowerSwap(target: FaceImage, donor: FaceImage, p: ForgeryParams, alpha = forgeryAlpha('lower-swap', target, p)): Forgery {
  return regionSwap(target, donor, p, alpha);
}

/** The forgery of `kind` (the donor is used by the swaps only). */
export function forge(kind: ForgeryKind, target: FaceImage, donor: FaceImage, p: ForgeryParams, alpha = forgeryAlpha(kind, target, p)): Forgery {
  switch (kind) {
    case 'self-blend':
      return selfBlend(target, p, alpha);
    case 'region-swap':
      return regionSwap(target, donor, p, alpha);
    case 'mouth-rewarp':
      return mouthRewarp(target, p, alpha);
    case 'eye-rewarp':
      return eyeRewarp(target, p, alpha);
    case 'lower-swap':
      return lowerSwap(target, donor, p, alpha);
  }
}

/** Per-channel mean/std transfer of `src` onto `ref`'s statistics, both measured where alpha > 0.5. */
function matchColours(src: RgbImage, ref: RgbImage, alpha: Float32Array): RgbImage {
  const out = new Uint8Array(src.data.length);
  for (let ch = 0; ch < 3; ch++) {
    let n = 0;
    let ms = 0;
    let mr = 0;
    let vs = 0;
    let vr = 0;
    for (let i = 0; i < alpha.length; i++) {
      if (alpha[i]! <= 0.5) continue;
      const s = src.data[i * 3 + ch]!;
      const r = ref.data[i * 3 + ch]!;
      n++;
      ms += s;
      mr += r;
      vs += s * s;
      vr += r * r;
    }
    ms /= Math.max(n, 1);
    mr /= Math.max(n, 1);
    const ss = Math.sqrt(Math.max(vs / Math.max(n, 1) - ms * ms, 1));
    const sr = Math.sqrt(Math.max(vr / Math.max(n, 1) - mr * mr, 1));
    for (let i = 0; i < alpha.length; i++) out[i * 3 + ch] = Math.min(255, Math.max(0, Math.round((src.data[i * 3 + ch]! - ms) * (sr / ss) + mr)));
  }
  return { width: src.width, height: src.height, data: out };
}
