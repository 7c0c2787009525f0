/**
 * Perturbations a shared image meets, for robustness sweeps (`evaluate --perturb`): applied to
 * a test crop (8-bit, 3 channels) before preprocessing, deterministic (noise is seeded by the
 * sweep seed and the sample id). The ground-truth mask is never changed.
 *
 *   jpeg:q    re-encode with sharp (libjpeg-turbo, quality q, 4:2:0 chroma) and decode
 *   blur:k    cv2.GaussianBlur(img, (k, k), 0) per channel (OpenCV's fixed taps for k = 3, 5, 7;
 *             REFLECT_101 borders), in float64, rounded half up and clamped to 0–255
 *   noise:σ   + N(0, σ²) per value (Box–Muller on the seeded Rng), rounded half up, clamped
 *   resize:s  cv2 INTER_LINEAR down to (round(s·w), round(s·h)), then back up to (w, h)
 */
import sharp from 'sharp';
import { ArgumentError } from '../errors.js';
import { gaussianBlur } from '../image/gaussian.js';
import { resizeLinear } from '../image/preprocess.js';
import { hashKey, Rng } from './rng.js';

export type Perturbation =
  | { readonly kind: 'jpeg'; readonly quality: number }
  | { readonly kind: 'blur'; readonly kernel: number }
  | { readonly kind: 'noise'; readonly sigma: number }
  | { readonly kind: 'resize'; readonly scale: number };

export const PERTURBATION_KINDS = ['jpeg', 'blur', 'noise', 'resize'] as const;

/** `jpeg-90`, `blur-3`, … : the name of a sweep row and of its output folder. */
export function perturbationName(p: Perturbation | null): string {
  if (p === null) return 'none';
  const v = p.kind === 'jpeg' ? p.quality : p.kind === 'blur' ? p.kernel : p.kind === 'noise' ? p.sigma : p.scale;
  return `${p.kind}-${v}`;
}

/** The strength of a perturbation (x axis of its robustness curve). */
export function perturbationLevel(p: Perturbation): number {
  return p.kind === 'jpeg' ? p.quality : p.kind === 'blur' ? p.kernel : p.kind === 'noise' ? p.sigma : p.scale;
}

/** Parses `jpeg:90,70,50`, `blur:3,5,7`, `noise:5,10,20`, `resize:0.75,0.5` (one argument each) into single perturbations. */
export function parsePerturbations(args: readonly string[]): Perturbation[] {
  const out: Perturbation[] = [];
  // every level a plain decimal number, none empty: `jpeg:,` and `jpeg:90,` are typos, not sweeps
  const spec = /^(jpeg|blur|noise|resize):(\d+(?:\.\d+)?(?:,\d+(?:\.\d+)?)*)$/;
  for (const arg of args) {
    const m = spec.exec(arg.trim());
    if (m === null) throw new ArgumentError('--perturb', 'kind:v1,v2,… with kind jpeg, blur, noise or resize and one or more numbers', arg);
    for (const text of m[2]!.split(',')) {
      const v = Number(text);
      const p: Perturbation =
        m[1] === 'jpeg'
          ? { kind: 'jpeg', quality: v }
          : m[1] === 'blur'
            ? { kind: 'blur', kernel: v }
            : m[1] === 'noise'
              ? { kind: 'noise', sigma: v }
              : { kind: 'resize', scale: v };
      checkPerturbation(p);
      // one folder per condition: a repeated level would run twice into the same records
      if (out.some((q) => perturbationName(q) === perturbationName(p)))
        throw new ArgumentError('--perturb', 'each level once', arg, `remove the repeated ${perturbationName(p)}`);
      out.push(p);
    }
  }
  return out;
}

function checkPerturbation(p: Perturbation): void {
  const bad = (expected: string, got: number): never => {
    throw new ArgumentError(`--perturb ${p.kind}`, expected, got);
  };
  if (p.kind === 'jpeg' && !(Number.isInteger(p.quality) && p.quality >= 1 && p.quality <= 100)) bad('a quality 1–100', p.quality);
  if (p.kind === 'blur' && ![3, 5, 7].includes(p.kernel)) bad('a kernel of 3, 5 or 7', p.kernel);
  if (p.kind === 'noise' && !(p.sigma > 0 && p.sigma <= 255)) bad('a sigma in (0, 255]', p.sigma);
  if (p.kind === 'resize' && !(p.scale > 0 && p.scale < 1)) bad('a scale in (0, 1)', p.scale);
}

/** FNV-1a of a string, for seeding per-sample noise by its id. */
function idHash(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
  return h;
}

const clampRound = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5));

/**
 * The perturbed copy of an interleaved 3-channel uint8 image (any channel order: every
 * perturbation treats the channels alike, and JPEG is told the order so it encodes RGB).
 */
export async function perturb(
  pixels: Uint8Array,
  width: number,
  height: number,
  p: Perturbation,
  o: { seed: number; id: string; order: 'rgb' | 'bgr' },
): Promise<Uint8Array> {
  switch (p.kind) {
    case 'jpeg': {
      const rgb = o.order === 'rgb' ? pixels : swapRB(pixels);
      const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } })
        .jpeg({ quality: p.quality })
        .toBuffer();
      const { data } = await sharp(jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const back = new Uint8Array(data.buffer, data.byteOffset, data.length);
      return o.order === 'rgb' ? new Uint8Array(back) : swapRB(back);
    }
    case 'blur': {
      const out = new Uint8Array(pixels.length);
      const plane = new Float64Array(width * height);
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < plane.length; i++) plane[i] = pixels[i * 3 + c];
        const { data } = gaussianBlur({ width, height, data: plane }, p.kernel);
        for (let i = 0; i < plane.length; i++) out[i * 3 + c] = clampRound(data[i]);
      }
      return out;
    }
    case 'noise': {
      const rng = new Rng(hashKey([o.seed, idHash(o.id)]));
      const out = new Uint8Array(pixels.length);
      for (let i = 0; i < pixels.length; i += 2) {
        // Box–Muller: two normals from two uniforms (1 − u keeps the log finite)
        const r = Math.sqrt(-2 * Math.log(1 - rng.random()));
        const t = 2 * Math.PI * rng.random();
        out[i] = clampRound(pixels[i] + p.sigma * r * Math.cos(t));
        if (i + 1 < pixels.length) out[i + 1] = clampRound(pixels[i + 1] + p.sigma * r * Math.sin(t));
      }
      return out;
    }
    case 'resize': {
      const w = Math.max(1, Math.round(p.scale * width));
      const h = Math.max(1, Math.round(p.scale * height));
      return resizeLinear(resizeLinear(pixels, width, height, 3, w, h), w, h, 3, width, height);
    }
  }
}

function swapRB(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = src[i + 2];
    out[i + 2] = src[i];
  }
  return out;
}
