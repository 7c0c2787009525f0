/**
 * Export of any registered method (models/registry.ts) with MSCCNet's graph contract: input
 * `image` [B, 3, S, S] at the method's own input size, outputs `image_logits` [B, 2] and
 * `mask_logits` [B, 2, h, w]; the method name, config and preprocessing go to the metadata so
 * inference needs no per-method code.
 */
import type { MethodModel } from '../models/method.js';
import {
  exportModule,
  exportModuleInt8,
  twoHeadTraceSpec,
  type ExportOptions,
  type ExportSummary,
  type Int8ExportOptions,
  type Int8ExportSummary,
  type TraceSpec,
} from './export.js';
import { ExportError } from './errors.js';

/** The trace of a method's eval forward under the common graph names. */
export function methodTraceSpec(model: MethodModel): TraceSpec {
  return twoHeadTraceSpec(model, model.preprocessing.inputSize, model.auxiliaryInputs);
}

/** The metadata a method's ONNX file carries: `method`, `config` (JSON), `inputSize`, `channelOrder`, `mean`, `std` (and `auxiliaryInputs` where the method has them). */
export function methodMetadata(model: MethodModel): Record<string, string> {
  const p = model.preprocessing;
  return {
    method: model.methodName,
    config: JSON.stringify(model.config),
    inputSize: String(p.inputSize),
    channelOrder: p.channelOrder ?? 'rgb',
    mean: p.mean.join(','),
    std: p.std.join(','),
    // graph inputs after `image` (CAT-Net: dctVolume, qtable), so an engine knows what else to feed
    ...(model.auxiliaryInputs === undefined ? {} : { auxiliaryInputs: model.auxiliaryInputs.map((a) => a.name).join(',') }),
  };
}

/** A registered method's eval forward as an ONNX model (put it in eval mode first). */
export function exportMethod(model: MethodModel, opts: ExportOptions = {}): ExportSummary {
  return exportModule(model, methodTraceSpec(model), { ...opts, metadata: { ...methodMetadata(model), ...opts.metadata } });
}

/** A registered method as a static int8 QDQ model calibrated on `opts.batches` (inputs made by its own preprocessing). */
export async function exportMethodInt8(model: MethodModel, opts: Int8ExportOptions): Promise<Int8ExportSummary> {
  if (model.auxiliaryInputs !== undefined) {
    // calibration batches hold images only
    throw new ExportError(
      `static int8 export of ${model.methodName} needs calibration batches of its auxiliary inputs too`,
      'export it as fp32, fp16 or int8-dynamic',
    );
  }
  return exportModuleInt8(model, methodTraceSpec(model), { ...opts, metadata: { ...methodMetadata(model), ...opts.metadata } });
}
