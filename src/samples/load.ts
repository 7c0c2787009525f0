/**
 * One unit of loader work, the same on a worker thread and inline: decode a sample, transform
 * it, and describe failures as data (they cross thread boundaries).
 */
import { errorData, problemLine } from '../errors.js';
import { evalTransform, padCrop, trainCrop, trainTransform, type TrainCrop, type TrainTransformOptions } from './augment.js';
import { decodeSample, UnreadableSampleError, type Sample } from './dataset.js';
import type { ImageOps } from '../image/index.js';
import { readFile } from 'node:fs/promises';
import { catnetInputFromPixels, jpegSourceFor } from '../image/catnet-source.js';
import type { JpegSource } from '../image/jpeg/index.js';
import { resizeCubic, resizeLinear, type PreprocessSpec } from '../image/preprocess.js';
import { perturb, type Perturbation } from './perturb.js';
import { Rng } from './rng.js';

/**
 * The DCT inputs of a method that reads them (CAT-Net, `auxiliaryInputs`): the transformed S×S
 * crop is JPEG-encoded at `jpegQuality`, 4:4:4 (it is no JPEG any more), and the image becomes
 * that JPEG's decoded RGB at ±1, as the official `_create_tensor` (docs/baselines.md).
 */
export interface DctInputOptions {
  readonly jpegQuality: number;
}

/** CAT-Net's auxiliary inputs of one sample: `dctVolume` [21, S, S] and `qtable` [1, 8, 8]. */
export type SampleAux = {
  readonly dctVolume: Float32Array;
  readonly qtable: Float32Array;
};

export type LoadTask =
  /** `key` seeds this sample's augmentation: (seed, epoch, position in the epoch) */
  | {
      readonly kind: 'train';
      readonly sample: Sample;
      readonly key: readonly number[];
      readonly transform: TrainTransformOptions;
      readonly dct?: DctInputOptions;
    }
  /** `perturb`: a robustness sweep's perturbation of the crop before preprocessing (seeded by `seed` and the sample id) */
  | {
      readonly kind: 'eval';
      readonly sample: Sample;
      readonly spec: PreprocessSpec;
      readonly perturb?: { readonly perturbation: Perturbation; readonly seed: number };
      readonly dct?: DctInputOptions;
      /** a model that reads the file (engine `jpegInput`): the sample's JPEG source at its own size instead of `image` */
      readonly jpeg?: DctInputOptions;
    };

export type LoadResult =
  | { readonly ok: true; readonly kind: 'train'; readonly image: Float32Array; readonly target: Uint8Array; readonly aux?: SampleAux }
  | {
      readonly ok: true;
      readonly kind: 'eval';
      readonly image: Float32Array;
      readonly gt: Uint8Array;
      readonly width: number;
      readonly height: number;
      readonly aux?: SampleAux;
      /** with the `jpeg` option (`image` is then empty) */
      readonly source?: JpegSource;
    }
  /** skippable: the file is missing or corrupt */
  | { readonly ok: false; readonly skip: true; readonly path: string; readonly reason: string }
  /** fatal: the run must stop (e.g. a mask whose size differs from its image) */
  | { readonly ok: false; readonly skip: false; readonly code: string; readonly problem: string; readonly hint: string };

export async function runTask(ops: ImageOps, task: LoadTask): Promise<LoadResult> {
  try {
    let d = await decodeSample(task.sample);
    if (task.kind === 'eval') {
      if (task.perturb !== undefined) {
        d = { ...d, bgr: await perturb(d.bgr, d.width, d.height, task.perturb.perturbation, { seed: task.perturb.seed, id: task.sample.id, order: 'bgr' }) };
      }
      const at = { gt: d.mask, width: d.width, height: d.height };
      if (task.jpeg !== undefined) return { ok: true, kind: 'eval', image: new Float32Array(0), source: await sampleSource(task, d), ...at };
      if (task.dct === undefined) return { ok: true, kind: 'eval', image: evalTransform(d, task.spec), ...at };
      const S = task.spec.inputSize;
      const resize = task.spec.resize === 'cv2-cubic' ? resizeCubic : resizeLinear;
      const bgr = d.width === S && d.height === S ? d.bgr : resize(d.bgr, d.width, d.height, 3, S, S);
      return { ok: true, kind: 'eval', ...(await dctInputs(bgr, S, S, S, task.dct)), ...at };
    }
    if (task.dct === undefined) {
      const t = trainTransform(ops, d, new Rng(...task.key), task.transform);
      return { ok: true, kind: 'train', image: t.image, target: t.target };
    }
    const c: TrainCrop = trainCrop(ops, d, new Rng(...task.key), task.transform);
    const { target } = padCrop(c, task.transform);
    return { ok: true, kind: 'train', target, ...(await dctInputs(c.bgr, c.width, c.height, task.transform.cropSize, task.dct)) };
  } catch (err) {
    if (err instanceof UnreadableSampleError) return { ok: false, skip: true, path: err.path, reason: problemLine(err) };
    return { ok: false, skip: false, ...errorData(err, 'fix the input named above') };
  }
}

/**
 * The JPEG a model that reads the file sees for an evaluation sample, at its own size
 * (`jpegSourceFor`): a JPEG file keeps its coefficients; any other file, and a crop a robustness
 * sweep perturbed (no longer the file), is encoded at `jpegQuality`.
 */
async function sampleSource(task: Extract<LoadTask, { kind: 'eval' }>, d: { bgr: Uint8Array; width: number; height: number }): Promise<JpegSource> {
  const rgb = new Uint8Array(d.bgr.length);
  for (let i = 0; i < rgb.length; i += 3) [rgb[i], rgb[i + 1], rgb[i + 2]] = [d.bgr[i + 2], d.bgr[i + 1], d.bgr[i]];
  const image = { width: d.width, height: d.height, data: rgb };
  const bytes = task.perturb === undefined ? new Uint8Array(await readFile(task.sample.image)) : new Uint8Array(0);
  return (await jpegSourceFor(bytes, image, { jpegQuality: task.jpeg!.jpegQuality })).source;
}

/**
 * A BGR crop w×h centred on an S×S canvas (as the transform pads), JPEG-encoded and read back:
 * the image (±1 RGB, 0 on the padding like the transform's) and the DCT volume and q-table.
 * The padding is mid-grey, whose blocks' coefficients are 0 (as past a JPEG's own edge).
 */
async function dctInputs(bgr: Uint8Array, w: number, h: number, S: number, o: DctInputOptions): Promise<{ image: Float32Array; aux: SampleAux }> {
  const top = (S - h) >> 1;
  const left = (S - w) >> 1;
  const rgb = new Uint8Array(S * S * 3).fill(128);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [src, dst] = [(y * w + x) * 3, ((y + top) * S + x + left) * 3];
      rgb[dst] = bgr[src + 2];
      rgb[dst + 1] = bgr[src + 1];
      rgb[dst + 2] = bgr[src];
    }
  }
  const input = await catnetInputFromPixels({ width: S, height: S, data: rgb }, { jpegQuality: o.jpegQuality, cropSize: [S, S] });
  const plane = S * S;
  const image = input.x.slice(0, 3 * plane);
  if (w !== S || h !== S) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) if (y < top || y >= top + h || x < left || x >= left + w) image[c * plane + y * S + x] = 0;
      }
    }
  }
  return { image, aux: { dctVolume: input.x.slice(3 * plane), qtable: input.qtable } };
}

/** The buffers of a result, to transfer instead of copy. */
export function transferList(r: LoadResult): ArrayBuffer[] {
  if (!r.ok) return [];
  const aux = r.aux === undefined ? [] : [r.aux.dctVolume.buffer as ArrayBuffer, r.aux.qtable.buffer as ArrayBuffer];
  return [r.image.buffer as ArrayBuffer, (r.kind === 'train' ? r.target : r.gt).buffer as ArrayBuffer, ...aux];
}
