/**
 * Readers and tolerances of the MSCCNet fixtures msccnet-128 (eval outputs) and
 * msccnet-128-train (one official SGD step), shared by their CPU tests in test/models and by
 * scripts/gpu-check, which runs the same comparisons on a GPU.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorStats } from '../../src/models/stats.js';

export type Nested = number | Nested[];

/** msccnet-128/expected.json: the official network with detfill-v1 weights, eval mode (its README §1–§6). */
export interface EvalExpected {
  scheme: string;
  offset_basis: number;
  input_size: number;
  batch: number;
  spectral_side_S: number;
  img_logits: number[][];
  prob_fake: number[];
  mask_logits: Nested;
  aux_map: Nested;
  mask_argmax_at_input_size: { fake_pixel_count_per_sample: number[]; 'near_tie_pixel_count_per_sample_abs_diff_lt_1e-4': number[] };
  mscc_softmax_max_weight: { mean: number };
  stages: Record<string, TensorStats>;
}

export function readEvalExpected(dir: string): EvalExpected {
  return JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as EvalExpected;
}

/** README §6 tolerance of a float32 port, per element: |a − b| ≤ 1e-4 + 1e-4·|b|. */
export const closeTo = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 + 1e-4 * Math.abs(b);

/** Worst |a−b| / (1e-4 + 1e-4·|b|) (≤ 1 passes) and the max abs and rel errors, for the report. */
export function compareOutputs(ours: ArrayLike<number>, theirs: number[]): { ratio: number; maxAbs: number; maxRel: number } {
  if (ours.length !== theirs.length) throw new Error(`element count: ${ours.length} vs ${theirs.length}`);
  let ratio = 0;
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < theirs.length; i++) {
    const d = Math.abs(ours[i] - theirs[i]);
    ratio = Math.max(ratio, d / (1e-4 + 1e-4 * Math.abs(theirs[i])));
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.abs(theirs[i]));
  }
  return { ratio, maxAbs, maxRel };
}

export const flat = (v: Nested): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);

interface Stats {
  sum: number;
  abs_sum: number;
  l2?: number;
  first4?: number[];
}

/** msccnet-128-train/expected_train_step.json, float64 reference: train-mode losses, one SGD step, the second forward. */
export interface TrainReference {
  optimizer: { lr: number; momentum: number; weight_decay: number; dampening: number; nesterov: boolean };
  loss_step0: Record<string, number>;
  loss_after_step: Record<string, number>;
  grad_global_l2_norm_all_params: number;
  params: Record<string, { shape: number[]; before: Stats; after: Stats; delta: Stats & { l2: number }; grad: Stats & { l2: number }; after_full?: number[] }>;
  bn_running_stats_after_first_forward: Record<string, { running_mean: Stats; running_var: Stats; num_batches_tracked: number }>;
}
export interface TrainFixture {
  offset_basis: number;
  input_size: number;
  batch: number;
  float64: TrainReference;
}

export function readTrainFixture(dir: string): TrainFixture {
  return JSON.parse(readFileSync(join(dir, 'expected_train_step.json'), 'utf8')) as TrainFixture;
}

/** The DCT side S of the eval fixture's model (params_manifest.json). */
export function spectralSideOf(evalDir: string): number {
  return JSON.parse(readFileSync(join(evalDir, 'params_manifest.json'), 'utf8')).spectral_side_S as number;
}

export const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
function fold(v: ArrayLike<number>, f: (acc: number, x: number) => number): number {
  let acc = 0;
  for (let i = 0; i < v.length; i++) acc = f(acc, v[i]);
  return acc;
}
export const l2 = (v: ArrayLike<number>): number => Math.sqrt(fold(v, (a, x) => a + x * x));
export const absSum = (v: ArrayLike<number>): number => fold(v, (a, x) => a + Math.abs(x));
export const sum = (v: ArrayLike<number>): number => fold(v, (a, x) => a + x);

/** The four loss terms compared at step 0 and after the step. */
export const LOSS_KEYS = ['img_cls', 'pix_cls_map', 'pix_cls_mask', 'total'] as const;
/** README §6 of msccnet-128-train: step-0 losses to 1e-4 (relative), the global gradient norm to 1e-2, the second forward's losses to 0.1. */
export const TRAIN_TOLERANCE = { lossStep0: 1e-4, gradNorm: 1e-2, lossAfterStep: 0.1 } as const;
// README §6: the heads' gradients are tight, the rest pass through near-zero ReLU decisions.
const TIGHT = ['classifer.', 'decoder.4.', 'mscc.fuse.weight', 'mscc.decoder_map.4.'];
export const gradTolerance = (name: string): number => (TIGHT.some((p) => name.startsWith(p)) ? 2e-3 : 5e-2);
/** A parameter's step (after − before) is compared with its gradient's tolerance plus 1e-3. */
export const deltaTolerance = (name: string): number => gradTolerance(name) + 1e-3;
/** mscc.fuse.bias: gradient 0 up to rounding (README §5), so its step is weight decay alone, checked to 5e-2. */
export const ZERO_GRAD_PARAM = 'mscc.fuse.bias';
export const ZERO_GRAD_DELTA_TOLERANCE = 5e-2;
