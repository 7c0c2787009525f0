/** The GPU check's options, sizes, targets and device helpers (peak memory, synchronisation). */
import { cudaNative, torch, type Device, type Precision, type Tensor } from '../../src/torch/index.js';

export interface GpuCheckOptions {
  device: Device;
  /** folder holding msccnet-128 and msccnet-128-train */
  fixtures: string;
  /** the Python with PyTorch, and bench/pytorch/msccnet.py */
  python: string;
  pytorchScript: string;
  side: number;
  batch: number;
  inferBatch: number;
  warmup: number;
  steps: number;
  precisions: Precision[];
  /** checks not started within this many seconds print `skipped` (the whole run must stay under 8 minutes) */
  budgetSeconds: number;
}

/** The sizes: 512², training batch 16, inference batch 32. */
export const FULL = { side: 512, batch: 16, inferBatch: 32, warmup: 5, steps: 20 } as const;
/** The dry run's: small enough for CI's CPU (the JSON lines keep their shape). */
export const TINY = { side: 64, batch: 2, inferBatch: 2, warmup: 1, steps: 2 } as const;

export const TARGETS = { stepRatio: 1.05, bf16Speedup: 1.8 } as const;

export type Line = Record<string, unknown> & { check: string };

export const host = (t: Tensor): Float32Array => t.to('cpu').float().toTypedArray() as Float32Array;
export const cudaIndex = (device: Device): number | null => (device === 'cpu' ? null : device === 'cuda' ? 0 : Number(device.slice(5)));
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function synchronize(device: Device): void {
  if (device !== 'cpu') torch.cuda.synchronize();
}
export function resetPeak(device: Device): void {
  const i = cudaIndex(device);
  if (i !== null) cudaNative().cudaResetPeakMemoryStats(i);
}
export function peakBytes(device: Device): number | null {
  const i = cudaIndex(device);
  return i === null ? null : cudaNative().cudaMemoryStats(i).peakAllocated;
}
