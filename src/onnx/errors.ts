import { MsccnetError } from '../errors.js';

/** The model's forward did something an ONNX graph cannot record (an op we do not map, data-dependent code, training mode). */
export class ExportError extends MsccnetError {
  constructor(problem: string, hint: string, options?: ErrorOptions) {
    super('MSCCNET_EXPORT', `ONNX export: ${problem}`, hint, options);
  }
}

/** An ONNX file that is not one of ours, or is damaged. */
export class OnnxModelError extends MsccnetError {
  constructor(
    readonly path: string,
    problem: string,
    hint: string,
    options?: ErrorOptions,
  ) {
    super('MSCCNET_ONNX_MODEL', `${path}: ${problem}`, hint, options);
  }
}
