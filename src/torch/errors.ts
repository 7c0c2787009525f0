import { MsccnetError } from '../errors.js';

/** An error raised by libtorch inside an op (shape mismatch, bad dtype, …), with libtorch's own message. */
export class TorchError extends MsccnetError {
  constructor(
    readonly op: string,
    readonly torchMessage: string,
    options?: ErrorOptions,
  ) {
    super('MSCCNET_TORCH', `${op}: ${torchMessage}`, `check the shapes, dtypes and devices of the arguments to ${op}`, options);
  }
}

/** The native addon is missing or was built against another Node/libtorch. */
export class AddonLoadError extends MsccnetError {
  constructor(
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(
      'MSCCNET_ADDON',
      `the libtorch addon could not be loaded from ${path}`,
      'build it with `npm run build:native` (or `bash scripts/setup`); set LIBTORCH=/path for a non-Debian libtorch',
      options,
    );
  }
}

/** A tensor was used after dispose() (directly or by the tidy() scope that owned it). */
export class DisposedTensorError extends MsccnetError {
  constructor(op: string) {
    super(
      'MSCCNET_DISPOSED',
      `${op}: the tensor was disposed`,
      'return the tensor from the tidy() callback, or call torch.keep() on it, to use it after the scope',
    );
  }
}

/** A device or precision the linked libtorch cannot provide (no CUDA build, fp16 on the CPU, …). */
export class DeviceError extends MsccnetError {
  constructor(problem: string, hint: string) {
    super('MSCCNET_DEVICE', problem, hint);
  }
}

/**
 * What libtorch would refuse on a real GPU, found by the device-checking test backend
 * (src/torch/testing.ts): an op mixing devices, or a host read of a device tensor.
 */
export class DeviceDisciplineError extends MsccnetError {
  constructor(
    readonly op: string,
    problem: string,
  ) {
    super(
      'MSCCNET_DEVICE_DISCIPLINE',
      `${op}: ${problem}`,
      "move the tensors to one device first (tensor.to(device)); read device tensors through one explicit tensor.to('cpu')",
    );
  }
}
