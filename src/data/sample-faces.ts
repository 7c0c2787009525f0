import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Image } from '../image/index.js';
import { encodePng, makeImage } from '../image/index.js';
import { writeFileAtomic } from '../io/atomic.js';
import { seededRandom } from './synthetic/geometry.js';

/**
 * Real faces for the demo and the bench: square boxes [x, y, side] picked by hand on the group photos that
 * `@vladmandic/face-api` ships in `demo/` (its author's own photos, MIT package). No face detector runs here.
 */
export const SAMPLE_FACES: readonly { readonly photo: string; readonly box: readonly [number, number, number] }[] = [
  { photo: 'sample1.jpg', box: [321, 279, 390] },
  { photo: 'sample1.jpg', box: [735, 345, 390] },
  { photo: 'sample1.jpg', box: [1380, 120, 390] },
  { photo: 'sample2.jpg', box: [310, 140, 350] },
  { photo: 'sample2.jpg', box: [815, 140, 350] },
  { photo: 'sample2.jpg', box: [1385, 80, 350] },
];

/** The synthetic manipulations, named like FF++ method folders. */
export const SAMPLE_METHODS = ['SelfBlend', 'Swap'] as const;

function photoPath(name: string): string {
  return join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo', name);
}

/** The face crop `index` of SAMPLE_FACES as a side×side RGB image; `shift` moves the box (another "frame"). */
export async function sampleFace(index: number, side: number, shift = 0): Promise<Image> {
  const {
    photo,
    box: [x, y, s],
  } = SAMPLE_FACES[index % SAMPLE_FACES.length];
  const { data, info } = await sharp(photoPath(photo))
    .extract({ left: x + shift, top: y + shift, width: s, height: s })
    .resize(side, side)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return makeImage(info.width, info.height, 3, new Uint8Array(data.buffer, data.byteOffset, data.length));
}

/** Soft elliptical blend weight over the inner face (centre 0.5W, 0.55H; radii 0.3W, 0.38H), 1 inside, 0 outside. */
function faceEllipse(width: number, height: number): Float32Array {
  const alpha = new Float32Array(width * height);
  const [cx, cy, rx, ry] = [0.5 * width, 0.55 * height, 0.3 * width, 0.38 * height];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.hypot((x + 0.5 - cx) / rx, (y + 0.5 - cy) / ry);
      const t = Math.min(1, Math.max(0, (1 - d) / 0.2));
      alpha[y * width + x] = t * t * (3 - 2 * t);
    }
  }
  return alpha;
}

/**
 * A fake of `real`: `SelfBlend` blends a colour-jittered copy of the face itself (per-channel gain and bias,
 * like self-blended images); `Swap` blends the `donor` face after mean/std colour transfer to the real one.
 * Both inside a soft ellipse over the inner face, so only that region changes.
 */
export function synthesiseFake(real: Image, method: (typeof SAMPLE_METHODS)[number], donor: Image, seed: number): Image {
  const { width, height } = real;
  const alpha = faceEllipse(width, height);
  const rand = seededRandom(seed);
  const out = makeImage(width, height, 3);
  const source = new Float32Array(width * height * 3);
  if (method === 'SelfBlend') {
    for (let c = 0; c < 3; c++) {
      const gain = 0.85 + 0.3 * rand(),
        bias = 30 * rand() - 15;
      for (let i = c; i < source.length; i += 3) source[i] = real.data[i] * gain + bias;
    }
  } else {
    for (let c = 0; c < 3; c++) {
      const [mr, sr] = stats(real, c, alpha),
        [md, sd] = stats(donor, c, alpha);
      for (let i = c; i < source.length; i += 3) source[i] = (donor.data[i] - md) * (sr / Math.max(sd, 1)) + mr;
    }
  }
  for (let i = 0; i < source.length; i++) {
    const a = alpha[(i / 3) | 0];
    out.data[i] = Math.min(255, Math.max(0, Math.round(a * source[i] + (1 - a) * real.data[i])));
  }
  return out;
}

function stats(image: Image, channel: number, weight: Float32Array): [mean: number, std: number] {
  let w = 0,
    s = 0,
    s2 = 0;
  for (let p = 0; p < weight.length; p++) {
    const v = image.data[3 * p + channel];
    w += weight[p];
    s += weight[p] * v;
    s2 += weight[p] * v * v;
  }
  const mean = s / w;
  return [mean, Math.sqrt(Math.max(0, s2 / w - mean * mean))];
}

/**
 * Writes an FF++-style tree of synthetic pairs under `dir`: reals `youtube/<tgt>/<frame>.png` and fakes
 * `<method>/<tgt>_<src>/<frame>.png`, `frames` frames per face (the box shifted by 4 px per frame).
 * Returns the number of fake frames written.
 */
export async function writeSamplePairs(dir: string, options: { side?: number; frames?: number } = {}): Promise<number> {
  const side = options.side ?? 256,
    frames = options.frames ?? 2;
  const n = SAMPLE_FACES.length;
  const id = (i: number): string => String(i).padStart(3, '0');
  let written = 0;
  for (let t = 0; t < n; t++) {
    for (let f = 0; f < frames; f++) {
      const frame = `${id(f)}.png`;
      const real = await sampleFace(t, side, 4 * f);
      await writeFileAtomic(join(dir, 'youtube', id(t), frame), await encodePng(real));
      const src = (t + 1) % n;
      const donor = await sampleFace(src, side, 4 * f);
      for (const [m, method] of SAMPLE_METHODS.entries()) {
        const fake = synthesiseFake(real, method, donor, 1000 * t + 10 * f + m);
        await writeFileAtomic(join(dir, method, `${id(t)}_${id(src)}`, frame), await encodePng(fake));
        written++;
      }
    }
  }
  return written;
}
