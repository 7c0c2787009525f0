/**
 * Export of a model to ONNX by tracing its own `forward` (DESIGN §3: one model definition).
 * The forward is traced twice, at batch 2 and 3: shape operands that differ between the two
 * carry the batch and become dynamic (-1 in Reshape), and so do the output dimensions.
 */
import { backend, Tensor, withBackend, type Handle } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import type { MSCCNet } from '../models/msccnet/index.js';
import type { AuxiliaryInputSpec } from '../models/method.js';
import { ExportError } from './errors.js';
import type { Graph } from './graph.js';
import { foldBatchNorm, quantizeConvsDynamicInt8, storeWeightsAsFloat16 } from './passes.js';
import { TracingBackend } from './tracer.js';
import { encodeModel, type IoSpec } from './writer.js';
import { MSCCNET_IO } from './io.js';
import { quantizeStaticInt8, type StaticQuantizeOptions, type StaticQuantizeSummary } from './quantize.js';

/**
 * fp32: as trained; fp16: half-size file, float32 arithmetic; int8-dynamic: int8 convolutions
 * with activations quantised per call. Static int8 (calibrated, the fast one) is `exportModuleInt8`.
 */
export type Precision = 'fp32' | 'fp16' | 'int8-dynamic';

export interface TraceSpec {
  /** Graph input name and its shape without the batch dimension. */
  input: { name: string; shape: readonly number[] };
  /** Further float32 graph inputs after it (a method's auxiliary inputs), shapes without the batch dimension. */
  auxiliary?: readonly { name: string; shape: readonly number[] }[];
  /** Runs the model on the traced inputs; returns the outputs by graph output name, in order. */
  forward: (x: Tensor, aux: Readonly<Record<string, Tensor>>) => Record<string, Tensor>;
}

/** What tracing produced: the graph (batch 2) and which output dims are the batch. */
export interface TracedModel {
  graph: Graph;
  inputs: IoSpec[];
  outputs: IoSpec[];
}

const BATCH = 'batch';

function trace(module: Module, spec: TraceSpec, batch: number, shapesOnly: boolean): TracingBackend {
  const names = new Map<Handle, string>();
  for (const [name, t] of module.stateDict()) names.set(t.handle, name);
  const tracer = new TracingBackend({ source: backend(), names, shapesOnly });
  withBackend(tracer, () => {
    const x = new Tensor(tracer.input(spec.input.name, 'float32', [batch, ...spec.input.shape]));
    const aux = Object.fromEntries((spec.auxiliary ?? []).map((a) => [a.name, new Tensor(tracer.input(a.name, 'float32', [batch, ...a.shape]))]));
    for (const [name, t] of Object.entries(spec.forward(x, aux))) tracer.output(name, t.handle);
  });
  return tracer;
}

/** Traces `module` (put it in eval mode first) into a graph with a dynamic batch dimension. */
export function traceModule(module: Module, spec: TraceSpec): TracedModel {
  if (module.training) throw new ExportError('the model is in training mode', 'call model.eval() before exporting');
  const g2 = trace(module, spec, 2, false).graph;
  const g3 = trace(module, spec, 3, true).graph;
  if (g2.nodes.length !== g3.nodes.length || g2.nodes.some((n, i) => n.op !== g3.nodes[i].op)) {
    throw new ExportError('the forward records different ops at batch 2 and 3', 'make the forward independent of the batch size');
  }
  for (const [name, c] of g2.constants) {
    const other = g3.constants.get(name);
    if (other === undefined || other.dims.join() !== c.dims.join()) {
      throw new ExportError(`constant ${name} depends on the batch size`, 'derive batch-sized tensors from the input, not from torch.full/zeros');
    }
    if (c.shapeOf === undefined) continue;
    const a = Array.from(c.data as BigInt64Array, Number);
    const b = Array.from(other.data as BigInt64Array, Number);
    const differs = a.flatMap((v, i) => (v !== b[i] ? [i] : []));
    if (differs.length > 1) throw new ExportError(`a ${c.shapeOf} to [${a}] mixes the batch into ${differs.length} dims`, 'keep the batch in one dimension');
    if (differs.length === 1) (c.data as BigInt64Array)[differs[0]] = c.shapeOf === 'reshape' ? -1n : 1n;
  }
  const io = (v: { name: string; shape: readonly number[] }, w: { shape: readonly number[] }): IoSpec => ({
    name: v.name,
    dims: v.shape.map((d, i) => (d === w.shape[i] ? d : BATCH)),
  });
  return {
    graph: g2,
    inputs: g2.inputs.map((v, i) => io(v, g3.inputs[i])),
    outputs: g2.outputs.map((v, i) => io(v, g3.outputs[i])),
  };
}

export interface ExportOptions {
  precision?: Precision;
  /** Stored in the file's metadata_props (config, variant, weights hash, …). */
  metadata?: Readonly<Record<string, string>>;
}

/** What export did, for reports. */
export interface ExportSummary {
  bytes: Uint8Array;
  nodes: number;
  initializers: number;
  foldedBatchNorms: number;
  quantizedConvs: number;
}

/** The package version written as producer_version. */
export const PRODUCER_VERSION = '0.1.0';

/** NaN or ±Infinity in a weight or buffer makes every output NaN, which reads as "real": refuse to export it. */
function assertFiniteWeights(module: Module): void {
  const bad: string[] = [];
  for (const [name, t] of module.stateDict()) {
    if (!(t.dtype === 'float32' || t.dtype === 'float64')) continue;
    const values = t.toTypedArray() as Float32Array | Float64Array;
    let count = 0;
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) count++;
    if (count > 0) bad.push(`${name} (${count} of ${values.length})`);
  }
  if (bad.length > 0) {
    throw new ExportError(
      `non-finite (NaN or infinite) values in ${bad.length} tensor(s): ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ', …' : ''}`,
      'the weights are corrupt or training diverged: export an earlier checkpoint, or retrain with a lower learning rate',
    );
  }
}

/** Traces a module, folds BN, applies the precision and serialises the ONNX model; refuses non-finite weights. */
export function exportModule(module: Module, spec: TraceSpec, opts: ExportOptions = {}): ExportSummary {
  assertFiniteWeights(module);
  const traced = traceModule(module, spec);
  const { graph } = traced;
  graph.prune();
  const foldedBatchNorms = foldBatchNorm(graph);
  const precision = opts.precision ?? 'fp32';
  const quantizedConvs = precision === 'int8-dynamic' ? quantizeConvsDynamicInt8(graph) : 0;
  if (precision === 'fp16') storeWeightsAsFloat16(graph);
  const bytes = encodeModel(graph, traced, { precision, ...opts.metadata }, PRODUCER_VERSION);
  return { bytes, nodes: graph.nodes.length, initializers: graph.constants.size, foldedBatchNorms, quantizedConvs };
}

export interface Int8ExportOptions extends StaticQuantizeOptions {
  /** names the calibration set in the metadata (e.g. `sha256:…` over its file list and bytes) */
  calibrationHash: string;
  metadata?: Readonly<Record<string, string>>;
}

export interface Int8ExportSummary extends ExportSummary {
  quantization: StaticQuantizeSummary;
}

/**
 * Traces a module, folds BN, calibrates activation ranges on `opts.batches` and writes a static
 * int8 QDQ model (onnxruntime fuses it into QLinearConv/QLinearAdd). Metadata records the mode,
 * the calibration method and the calibration set's hash.
 */
export async function exportModuleInt8(module: Module, spec: TraceSpec, opts: Int8ExportOptions): Promise<Int8ExportSummary> {
  assertFiniteWeights(module);
  const traced = traceModule(module, spec);
  const { graph } = traced;
  graph.prune();
  const foldedBatchNorms = foldBatchNorm(graph);
  const quantization = await quantizeStaticInt8(graph, traced, opts);
  const bytes = encodeModel(
    graph,
    traced,
    {
      precision: 'int8',
      quantization: `static-qdq-u8s8${opts.reduceRange ? '-reduce-range' : ''}`,
      calibrationMethod: opts.method === 'percentile' ? `percentile-${opts.percentile ?? 99.999}` : 'minmax',
      calibrationImages: String(quantization.calibrationImages),
      calibrationHash: opts.calibrationHash,
      ...opts.metadata,
    },
    PRODUCER_VERSION,
  );
  return { bytes, nodes: graph.nodes.length, initializers: graph.constants.size, foldedBatchNorms, quantizedConvs: quantization.quantizedConvs, quantization };
}

/**
 * The trace of a model's eval forward at input side `side` under MSCCNet's graph names (every
 * method shares them), with the method's auxiliary inputs (if any) as further graph inputs.
 */
export function twoHeadTraceSpec(
  model: {
    forward(x: Tensor): { imgLogits: Tensor; maskLogits: Tensor };
    forwardWith?(x: Tensor, aux: Readonly<Record<string, Tensor>>): { imgLogits: Tensor; maskLogits: Tensor };
  },
  side: number,
  auxiliary: readonly AuxiliaryInputSpec[] = [],
): TraceSpec {
  return {
    input: { name: MSCCNET_IO.input, shape: [3, side, side] },
    auxiliary: auxiliary.map((a) => ({ name: a.name, shape: a.shape(1, side, side).slice(1) })),
    forward: (x, aux) => {
      const out = model.forwardWith === undefined ? model.forward(x) : model.forwardWith(x, aux);
      return { [MSCCNET_IO.imageLogits]: out.imgLogits, [MSCCNET_IO.maskLogits]: out.maskLogits };
    },
  };
}

const msccnetMetadata = (model: MSCCNet) => ({ config: JSON.stringify(model.config), inputSize: String(model.config.inputSize) });

/** MSCCNet's eval forward as an ONNX model: `image` [B,3,S,S] → `image_logits` [B,K], `mask_logits` [B,K,s,s]. */
export function exportMsccnet(model: MSCCNet, opts: ExportOptions = {}): ExportSummary {
  return exportModule(model, twoHeadTraceSpec(model, model.config.inputSize), { ...opts, metadata: { ...msccnetMetadata(model), ...opts.metadata } });
}

/** MSCCNet as a static int8 QDQ model calibrated on `opts.batches` (normalised [B,3,S,S] crops). */
export function exportMsccnetInt8(model: MSCCNet, opts: Int8ExportOptions): Promise<Int8ExportSummary> {
  return exportModuleInt8(model, twoHeadTraceSpec(model, model.config.inputSize), { ...opts, metadata: { ...msccnetMetadata(model), ...opts.metadata } });
}
