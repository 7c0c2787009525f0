/**
 * Devices and precisions as configs name them, resolved once against the linked libtorch:
 * `device: auto | cpu | cuda | cuda:N` and `precision: fp32 | bf16 | fp16`.
 */
import { backend } from './backend.js';
import { DeviceError } from './errors.js';
import { Tensor, type Device } from './tensor.js';
import { torch, type AutocastDtype } from './torch.js';

export const DEVICE_SPEC = /^(auto|cpu|cuda|cuda:\d+)$/;
/** What a config may say: `auto` is the GPU when the linked libtorch has one, else the CPU. */
export type DeviceSpec = 'auto' | 'cpu' | 'cuda' | `cuda:${number}`;

export const PRECISIONS = ['fp32', 'bf16', 'fp16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/**
 * The device a process computes on. `auto` and `cuda` take GPU `localRank` (one process per GPU
 * in a multi-GPU run, modulo the GPUs present); `cuda:N` must exist. Always 'cpu' or 'cuda:N'.
 */
export function resolveDevice(spec: DeviceSpec | string, localRank = 0): Device {
  if (!DEVICE_SPEC.test(spec)) throw new DeviceError(`device '${spec}' is not auto, cpu, cuda or cuda:N`, 'set device to auto, cpu, cuda or cuda:N');
  if (spec === 'cpu') return 'cpu';
  const count = backend().cudaIsAvailable() ? backend().cudaDeviceCount() : 0;
  if (spec === 'auto' && count === 0) return 'cpu';
  if (count === 0) {
    throw new DeviceError(
      `device '${spec}' needs a CUDA GPU, but the linked libtorch sees none (torch.cuda.isAvailable() is false)`,
      'set device to cpu or auto, or rebuild the addon against a CUDA libtorch: LIBTORCH=python npm run build:native',
    );
  }
  const index = spec === 'auto' || spec === 'cuda' ? localRank % count : Number(spec.slice(5));
  if (index >= count) throw new DeviceError(`device '${spec}': this machine has ${count} GPU(s), cuda:0…cuda:${count - 1}`, 'pick an existing GPU');
  return `cuda:${index}`;
}

/**
 * The autocast dtype of a precision on a device (null for fp32). libtorch's CPU autocast runs
 * bfloat16 only (torch.autocast('cpu', float16) disables itself with a warning), so fp16 on the
 * CPU is refused here rather than silently running in fp32.
 */
export function autocastDtype(precision: Precision, device: Device): AutocastDtype | null {
  if (precision === 'fp32') return null;
  if (precision === 'fp16' && device === 'cpu') {
    throw new DeviceError(
      "precision fp16 needs a CUDA device: libtorch's CPU autocast supports bfloat16 only",
      'use precision bf16 on the CPU (or fp32), or train on a GPU',
    );
  }
  return precision === 'bf16' ? 'bfloat16' : 'float16';
}

/** Runs fn under the precision's autocast on `device` (fp32: as is). */
export function withPrecision<R>(precision: Precision, device: Device, fn: () => R): R {
  const dtype = autocastDtype(precision, device);
  return dtype === null ? fn() : torch.autocast(device, { dtype }, fn);
}

/** One host copy of a tensor (the single allowed way a device tensor's values reach the CPU). */
export function toHost(t: Tensor): Tensor {
  return t.to('cpu');
}

/** CPU copies of a state dict's tensors (checkpoints are written from these; a CPU tensor is shared, not copied). */
export function cpuCopies(tensors: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  return new Map([...tensors].map(([k, t]) => [k, t.device === 'cpu' ? t : t.to('cpu')]));
}

/**
 * A CPU batch in page-locked memory copied to `device` without blocking the host (PyTorch's
 * `pin_memory=True` loader + `to(device, non_blocking=True)`). On the CPU it is the batch itself.
 */
export function batchToDevice(t: Tensor, device: Device): Tensor {
  if (device === 'cpu') return t;
  const pinned = t.pinMemory();
  const moved = pinned.to(device, { nonBlocking: true });
  if (pinned !== t) pinned.dispose(); // the copy is ordered before any later use of the pinned block on the stream
  return moved;
}
