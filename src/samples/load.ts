/**
 * One unit of loader work, the same on a worker thread and inline: decode a sample, transform
 * it, and describe failures as data (they cross thread boundaries).
 */
import { errorData, problemLine } from '../errors.js';
import { evalTransform, trainTransform, type TrainTransformOptions } from './augment.js';
import { decodeSample, UnreadableSampleError, type Sample } from './dataset.js';
import type { ImageOps } from '../image/index.js';
import type { PreprocessSpec } from '../image/preprocess.js';
import { perturb, type Perturbation } from './perturb.js';
import { Rng } from './rng.js';

export type LoadTask =
  /** `key` seeds this sample's augmentation: (seed, epoch, position in the epoch) */
  | { readonly kind: 'train'; readonly sample: Sample; readonly key: readonly number[]; readonly transform: TrainTransformOptions }
  /** `perturb`: a robustness sweep's perturbation of the crop before preprocessing (seeded by `seed` and the sample id) */
  | {
      readonly kind: 'eval';
      readonly sample: Sample;
      readonly spec: PreprocessSpec;
      readonly perturb?: { readonly perturbation: Perturbation; readonly seed: number };
    };

export type LoadResult =
  | { readonly ok: true; readonly kind: 'train'; readonly image: Float32Array; readonly target: Uint8Array }
  | { readonly ok: true; readonly kind: 'eval'; readonly image: Float32Array; readonly gt: Uint8Array; readonly width: number; readonly height: number }
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
      return { ok: true, kind: 'eval', image: evalTransform(d, task.spec), gt: d.mask, width: d.width, height: d.height };
    }
    const t = trainTransform(ops, d, new Rng(...task.key), task.transform);
    return { ok: true, kind: 'train', image: t.image, target: t.target };
  } catch (err) {
    if (err instanceof UnreadableSampleError) return { ok: false, skip: true, path: err.path, reason: problemLine(err) };
    return { ok: false, skip: false, ...errorData(err, 'fix the input named above') };
  }
}

/** The buffers of a result, to transfer instead of copy. */
export function transferList(r: LoadResult): ArrayBuffer[] {
  if (!r.ok) return [];
  return r.kind === 'train' ? [r.image.buffer as ArrayBuffer, r.target.buffer as ArrayBuffer] : [r.image.buffer as ArrayBuffer, r.gt.buffer as ArrayBuffer];
}
