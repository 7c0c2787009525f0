/** ONNX export by tracing the model's own forward (tracing backend → graph → passes → protobuf). */
export {
  exportModule,
  exportMsccnet,
  exportModuleInt8,
  exportMsccnetInt8,
  traceModule,
  PRODUCER_VERSION,
  type ExportOptions,
  type ExportSummary,
  type Int8ExportOptions,
  type Int8ExportSummary,
  type Precision,
  type TraceSpec,
  type TracedModel,
} from './export.js';
export { Graph, attr, float16Bits, type OnnxDType, type OnnxNode, type Constant, type ValueInfo } from './graph.js';
export { TracingBackend, type TracerOptions } from './tracer.js';
export { foldBatchNorm, storeWeightsAsFloat16, quantizeConvsDynamicInt8 } from './passes.js';
export { MSCCNET_IO } from './io.js';
export { encodeModel, readMetadata, OPSET, type IoSpec } from './writer.js';
export { ExportError, OnnxModelError } from './errors.js';
export { quantizeStaticInt8, type CalibrationBatch, type CalibrationMethod, type StaticQuantizeOptions, type StaticQuantizeSummary } from './quantize.js';
export { exportMethod, exportMethodInt8, methodTraceSpec, methodMetadata } from './method.js';
export { methodComplexity, type Complexity } from './complexity.js';
