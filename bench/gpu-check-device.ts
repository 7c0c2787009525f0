/**
 * The device and precision calls of bench/gpu-check.ts, in one place. Moving a model to a GPU and
 * autocast are the device work of issue 14 (items 2–3: `device`, `precision`, Module/tensor `.to`,
 * autocast); until that is wired here, gpu-check runs on the CPU in fp32 and reports every other
 * device or precision as an error line that names this file.
 */
import type { Module } from '../src/nn/index.js';
import type { Device } from '../src/torch/index.js';

export type Precision = 'fp32' | 'bf16' | 'fp16';

export class NotWiredError extends Error {
  constructor(what: string) {
    super(`${what} is not wired into bench/gpu-check-device.ts yet (the device/precision API of issue 14 items 2–3)`);
    this.name = 'NotWiredError';
  }
}

/** Moves the model's parameters and buffers to `device` once, as `model.to(device)`. */
export function moveModel(model: Module, device: Device): void {
  if (device === 'cpu' && model.parameters().every((p) => p.device === 'cpu')) return;
  throw new NotWiredError(`moving a model to ${device}`);
}

/** Runs fn under autocast to `precision` on `device` (fp32: as is), as `with torch.autocast(...)`. */
export function withPrecision<R>(precision: Precision, device: Device, fn: () => R): R {
  if (precision !== 'fp32') throw new NotWiredError(`autocast to ${precision} on ${device}`);
  return fn();
}
