import { batchToDevice, resolveDevice, toHost, torch, type DeviceSpec, type Tensor } from '../torch/index.js';
import { DETFILL_OFFSET_BASIS, applyDetfill, detfillInput } from './detfill.js';
import { MSCCNet } from './msccnet/index.js';
import { tensorStats, valueAt, type TensorStats } from './stats.js';

export interface DetfillCheckOptions {
  /** input side; the reference runs 512 (S = 64) */
  size: number;
  batch?: number;
  offsetBasis?: number;
  /** [n, k, row, col] indices of mask logits to report */
  maskIndices?: readonly (readonly number[])[];
  /** per stage name, multi-indices to sample (the fixture's `samples`) */
  stageSamples?: Readonly<Record<string, readonly (readonly number[])[]>>;
  /** stages whose full values to return in `values` (parity tests) */
  keepStages?: readonly string[];
  threads?: number;
  /** where the forward runs (auto | cpu | cuda | cuda:N; default cpu): the GPU parity check */
  device?: DeviceSpec;
}

/** The quantities the `msccnet-128` fixture lists, for any size: comparable with the reference. */
export interface DetfillCheckResult {
  scheme: 'detfill-v1';
  offset_basis: number;
  input_size: number;
  batch: number;
  spectral_side_S: number;
  img_logits: number[][];
  prob_fake: number[];
  /** null where an index lies outside the mask logits */
  mask_logits_at: { index: number[]; value: number | null }[];
  stages: Record<string, TensorStats>;
  /** full float32 values of the `keepStages` */
  values?: Record<string, Float32Array>;
  seconds: { build: number; fill: number; forward: number };
}

/**
 * Builds the reference configuration for `size` with detfill-v1 weights, runs the scheme's input
 * in eval mode and gathers the fixture's statistics of every stage.
 */
export function runDetfillCheck(opts: DetfillCheckOptions): DetfillCheckResult {
  const { size, batch = 1, offsetBasis = DETFILL_OFFSET_BASIS } = opts;
  if (opts.threads !== undefined) torch.setNumThreads(opts.threads);
  const t0 = performance.now();
  const model = new MSCCNet({ inputSize: size });
  const t1 = performance.now();
  applyDetfill(model, offsetBasis);
  const device = resolveDevice(opts.device ?? 'cpu');
  model.to(device).eval();
  const t2 = performance.now();
  const stages: Record<string, TensorStats> = {};
  const kept: Record<string, Float32Array> = {};
  let img: Float32Array = new Float32Array(0);
  let mask: { values: Float32Array; shape: number[] } = { values: new Float32Array(0), shape: [0] };
  torch.noGrad(() =>
    torch.tidy(() => {
      const x = batchToDevice(torch.fromTypedArray(detfillInput(batch, size), [batch, 3, size, size]), device);
      const tap = (name: string, value: Tensor): void => {
        const values = toHost(value).toTypedArray() as Float32Array;
        stages[name] = tensorStats(values, value.shape, opts.stageSamples?.[name] ?? []);
        if (name === 'img_logits') img = values;
        if (name === 'mask_logits') mask = { values, shape: value.shape };
        if (opts.keepStages?.includes(name)) kept[name] = values;
      };
      model.forward(x, tap);
    }),
  );
  const t3 = performance.now();
  model.dispose();
  const K = model.config.numClasses;
  const imgLogits = Array.from({ length: batch }, (_, n) => Array.from(img.subarray(n * K, (n + 1) * K)));
  return {
    scheme: 'detfill-v1',
    offset_basis: offsetBasis,
    input_size: size,
    batch,
    spectral_side_S: model.spectralSide,
    img_logits: imgLogits,
    prob_fake: imgLogits.map((l) => 1 / (1 + Math.exp(l[0] - l[1]))), // softmax(ℓ)_1 for K = 2
    mask_logits_at: (opts.maskIndices ?? []).map((index) => ({ index: [...index], value: valueAt(mask.values, mask.shape, index) })),
    stages,
    ...(opts.keepStages === undefined ? {} : { values: kept }),
    seconds: { build: (t1 - t0) / 1000, fill: (t2 - t1) / 1000, forward: (t3 - t2) / 1000 },
  };
}
