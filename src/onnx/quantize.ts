/**
 * Static int8 quantisation in the QDQ format: calibrate activation ranges by running the float
 * graph in onnxruntime with the needed intermediate tensors exposed as outputs, then insert
 * QuantizeLinear/DequantizeLinear pairs around the convolutions (and the residual Adds between
 * them) so that onnxruntime's graph optimiser fuses them into QLinearConv / QLinearAdd.
 *
 * Conventions (those of onnxruntime's `quantize_static`, which its CPU kernels are tuned for):
 * activations uint8, asymmetric, per tensor; weights int8, symmetric, per output channel; bias
 * int32 with scale x_scale·w_scale[c]. A Relu after a conv or Add shares the Q/DQ parameters of
 * its output (zero point 0), which lets onnxruntime drop the Relu into the quantised op.
 * Everything else (softmax, the class-center attention, the DCT, the logit heads) stays float.
 */
import * as ort from 'onnxruntime-node';
import { ExportError } from './errors.js';
import { constData, type Constant, type Graph, type OnnxNode, type ValueInfo } from './graph.js';
import { quantizePerChannel } from './passes.js';
import { encodeModel, type IoSpec } from './writer.js';

/** How an activation range is taken from the calibration values. */
export type CalibrationMethod = 'minmax' | 'percentile';

/** One calibration batch: NCHW float32, normalised as the model input. */
export interface CalibrationBatch {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface StaticQuantizeOptions {
  /** representative inputs (a few dozen crops of the data the model will see) */
  batches: Iterable<CalibrationBatch> | AsyncIterable<CalibrationBatch>;
  /** minmax: the observed range; percentile: clip each side at `percentile` % of the values */
  method?: CalibrationMethod;
  /** for `percentile` (default 99.999) */
  percentile?: number;
  /**
   * 7-bit weights ([-64, 63]): on AVX2 without VNNI, onnxruntime's u8s8 kernel multiplies with
   * vpmaddubsw, whose int16 pair sums saturate for 8-bit weights (255·127·2 > 32767).
   */
  reduceRange?: boolean;
  /** convs whose weight name starts with one of these stay float (e.g. `mscc.`, `decoder.`) */
  keepFloat?: readonly string[];
  /** residual Adds between quantised tensors become QLinearAdd (default true) */
  quantizeAdds?: boolean;
  /** intra-op threads of the calibration session */
  threads?: number;
  /** called after each calibration batch */
  onBatch?: (done: number) => void;
}

export interface StaticQuantizeSummary {
  quantizedConvs: number;
  quantizedAdds: number;
  calibratedTensors: number;
  calibrationImages: number;
}

/** Convolutions smaller than this (input features × kernel taps) stay float: the 3-channel stem, where int8 costs accuracy and saves nothing. */
const MIN_FAN_IN = 64;
/** Convolutions with at most this many outputs are the logit heads: kept float (negligible cost, full-precision logits). */
const MAX_HEAD_CHANNELS = 8;
/** Values kept per tensor and batch for the percentile method (an even stride through the tensor). */
const SAMPLES_PER_BATCH = 1 << 16;

interface Plan {
  convs: OnnxNode[];
  adds: OnnxNode[];
  /** tensor → the tensor whose range it uses (a conv/Add output followed only by Relu uses the Relu output's) */
  rangeOf: Map<string, string>;
}

function producers(graph: Graph): Map<string, OnnxNode> {
  const out = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const o of n.outputs) out.set(o, n);
  return out;
}

function floatWeight(graph: Graph, conv: OnnxNode): Constant | undefined {
  const w = graph.constants.get(conv.inputs[1]);
  if (w === undefined || w.dtype !== 'float32' || w.dims.length !== 4) return undefined;
  if (conv.inputs[2] !== undefined && conv.inputs[2] !== '' && graph.constants.get(conv.inputs[2])?.dtype !== 'float32') return undefined;
  return w;
}

/** Which convs and Adds to quantise and which tensors need a calibrated range. */
function plan(graph: Graph, keepFloat: readonly string[], quantizeAdds: boolean): Plan {
  const consumers = graph.consumers();
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const rangeOf = new Map<string, string>();
  /** The op's output, with the range of the Relu after it when the Relu is its only reader (graph outputs stay float). */
  const quantizeOutput = (y: string) => {
    if (outputs.has(y)) return;
    const readers = consumers.get(y) ?? [];
    const relu = readers.length === 1 && readers[0].op === 'Relu' && !outputs.has(readers[0].outputs[0]) ? readers[0].outputs[0] : undefined;
    rangeOf.set(y, relu ?? y);
    if (relu !== undefined) rangeOf.set(relu, relu);
  };
  const convs = graph.nodes.filter((n) => {
    if (n.op !== 'Conv' || outputs.has(n.inputs[0])) return false;
    const w = floatWeight(graph, n);
    return (
      w !== undefined &&
      w.dims[1] * w.dims[2] * w.dims[3] >= MIN_FAN_IN &&
      w.dims[0] > MAX_HEAD_CHANNELS &&
      !keepFloat.some((prefix) => w.name.startsWith(prefix))
    );
  });
  for (const c of convs) {
    if (!rangeOf.has(c.inputs[0])) rangeOf.set(c.inputs[0], c.inputs[0]);
    quantizeOutput(c.outputs[0]);
  }
  // residual Adds whose operands are both quantised become QLinearAdd (graph order: operands first)
  const adds: OnnxNode[] = [];
  for (const n of graph.nodes) {
    if (!quantizeAdds || n.op !== 'Add' || n.inputs.length !== 2 || !n.inputs.every((i) => rangeOf.has(i))) continue;
    const shapes = n.inputs.map((i) => graph.value(i).shape.join());
    if (shapes[0] !== shapes[1]) continue;
    adds.push(n);
    quantizeOutput(n.outputs[0]);
  }
  return { convs, adds, rangeOf };
}

class RangeObserver {
  min = Infinity;
  max = -Infinity;
  readonly samples: number[] = [];

  observe(data: Float32Array, keepSamples: boolean): void {
    let [lo, hi] = [this.min, this.max];
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    [this.min, this.max] = [lo, hi];
    if (!keepSamples) return;
    const stride = Math.max(1, Math.floor(data.length / SAMPLES_PER_BATCH));
    for (let i = 0; i < data.length; i += stride) this.samples.push(data[i]);
  }

  range(method: CalibrationMethod, percentile: number): [number, number] {
    if (method === 'minmax' || this.samples.length === 0) return [this.min, this.max];
    const sorted = Float32Array.from(this.samples).sort();
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
    return [Math.max(this.min, at(100 - percentile)), Math.min(this.max, at(percentile))];
  }
}

/** Runs the float graph with the tensors exposed as extra outputs; returns each tensor's range. */
async function calibrate(
  graph: Graph,
  io: { inputs: readonly IoSpec[]; outputs: readonly IoSpec[] },
  tensors: readonly string[],
  opts: StaticQuantizeOptions,
): Promise<{ ranges: Map<string, [number, number]>; images: number }> {
  const saved = graph.outputs;
  const extra: IoSpec[] = tensors.map((name) => ({ name, dims: graph.value(name).shape.map((_, i) => `${name}_d${i}`) }));
  let bytes: Uint8Array;
  try {
    graph.outputs = [...saved, ...tensors.map((t) => graph.value(t))];
    bytes = encodeModel(graph, { inputs: io.inputs, outputs: [...io.outputs, ...extra] }, {}, 'calibration');
  } finally {
    graph.outputs = saved;
  }
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    ...(opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads, interOpNumThreads: 1 }),
  });
  const method = opts.method ?? 'minmax';
  const observers = new Map(tensors.map((t) => [t, new RangeObserver()]));
  const inputName = graph.inputs[0].name;
  let images = 0;
  try {
    for await (const batch of opts.batches) {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', batch.data, [...batch.dims]) }, tensors);
      for (const t of tensors) {
        observers.get(t)!.observe(out[t].data as Float32Array, method === 'percentile');
        out[t].dispose();
      }
      images += batch.dims[0];
      opts.onBatch?.(images);
    }
  } finally {
    await session.release();
  }
  if (images === 0) throw new ExportError('the calibration set is empty', 'pass --calibration with a folder of face crops or a manifest');
  const ranges = new Map<string, [number, number]>();
  for (const [t, o] of observers) ranges.set(t, o.range(method, opts.percentile ?? 99.999));
  return { ranges, images };
}

/** uint8 asymmetric parameters covering [lo, hi] ∪ {0} (0 must be exact: zero padding, Relu). */
function activationParams([lo, hi]: [number, number]): { scale: number; zeroPoint: number } {
  const [a, b] = [Math.min(0, lo), Math.max(0, hi)];
  if (!(b - a > 0) || !Number.isFinite(b - a)) return { scale: 1, zeroPoint: a < 0 ? 255 : 0 };
  const scale = (b - a) / 255;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-a / scale))) };
}

/**
 * Calibrates and rewrites the (BN-folded) graph in place: convs with ≥ 64 input features and
 * residual Adds become Q/DQ groups that onnxruntime fuses into QLinearConv / QLinearAdd.
 */
export async function quantizeStaticInt8(
  graph: Graph,
  io: { inputs: readonly IoSpec[]; outputs: readonly IoSpec[] },
  opts: StaticQuantizeOptions,
): Promise<StaticQuantizeSummary> {
  const p = plan(graph, opts.keepFloat ?? [], opts.quantizeAdds ?? true);
  const calibrated = [...new Set(p.rangeOf.values())];
  const { ranges, images } = await calibrate(graph, io, calibrated, opts);
  const params = new Map<string, { scale: string; zeroPoint: string; s: number }>();
  for (const t of calibrated) {
    const { scale, zeroPoint } = activationParams(ranges.get(t)!);
    const s = graph.addConstant({ name: `${t}.q_scale`, dtype: 'float32', dims: [], data: constData('float32', [scale]) }).name;
    const z = graph.addConstant({ name: `${t}.q_zero_point`, dtype: 'uint8', dims: [], data: constData('uint8', [zeroPoint]) }).name;
    params.set(t, { scale: s, zeroPoint: z, s: scale });
  }

  // weights and biases of the planned convs: int8 per channel, int32 bias, behind DequantizeLinear
  const qmax = opts.reduceRange ? 63 : 127;
  const qmin = opts.reduceRange ? -64 : -127;
  const weightNodes = new Map<OnnxNode, OnnxNode[]>();
  for (const conv of p.convs) {
    const w = floatWeight(graph, conv)!;
    const out = w.dims[0];
    const q = new Int8Array(w.data.length);
    const scales = quantizePerChannel(w, q, qmin, qmax);
    const base = w.name.replace(/\.weight(_folded)?$/, '');
    const nodes: OnnxNode[] = [];
    const wq = graph.addConstant({ name: `${base}.weight_int8`, dtype: 'int8', dims: w.dims, data: q }).name;
    const ws = graph.addConstant({ name: `${base}.weight_scale`, dtype: 'float32', dims: [out], data: scales }).name;
    const wz = graph.addConstant({ name: `${base}.weight_zero_point`, dtype: 'int8', dims: [out], data: new Int8Array(out) }).name;
    const wdq = `${base}.weight_dq`;
    graph.values.set(wdq, { name: wdq, dtype: 'float32', shape: [...w.dims] });
    nodes.push({ op: 'DequantizeLinear', inputs: [wq, ws, wz], outputs: [wdq], attrs: { axis: { kind: 'int', value: 0 } } });
    const inputs = [conv.inputs[0], wdq];
    const bias = conv.inputs[2] === undefined || conv.inputs[2] === '' ? undefined : graph.constants.get(conv.inputs[2])!;
    if (bias !== undefined) {
      const xs = params.get(p.rangeOf.get(conv.inputs[0])!)!.s;
      const bs = Float32Array.from(scales, (s) => s * xs);
      const bq = Int32Array.from(bias.data as Float32Array, (b, o) => Math.round(b / bs[o]));
      const bqn = graph.addConstant({ name: `${base}.bias_int32`, dtype: 'int32', dims: [out], data: bq }).name;
      const bsn = graph.addConstant({ name: `${base}.bias_scale`, dtype: 'float32', dims: [out], data: bs }).name;
      const bzn = graph.addConstant({ name: `${base}.bias_zero_point`, dtype: 'int32', dims: [out], data: new Int32Array(out) }).name;
      const bdq = `${base}.bias_dq`;
      graph.values.set(bdq, { name: bdq, dtype: 'float32', shape: [out] });
      nodes.push({ op: 'DequantizeLinear', inputs: [bqn, bsn, bzn], outputs: [bdq], attrs: { axis: { kind: 'int', value: 0 } } });
      inputs.push(bdq);
    }
    conv.inputs = inputs;
    weightNodes.set(conv, nodes);
  }

  // a Q/DQ pair after each calibrated tensor (and after each conv/Add output that borrows its Relu's range)
  const qdq = (t: string): OnnxNode[] => {
    const { scale, zeroPoint } = params.get(p.rangeOf.get(t)!)!;
    const v: ValueInfo = graph.value(t);
    const [q, dq] = [`${t}.q`, `${t}.dq`];
    graph.values.set(q, { name: q, dtype: 'uint8', shape: [...v.shape] });
    graph.values.set(dq, { name: dq, dtype: 'float32', shape: [...v.shape] });
    return [
      { op: 'QuantizeLinear', inputs: [t, scale, zeroPoint], outputs: [q], attrs: {} },
      { op: 'DequantizeLinear', inputs: [q, scale, zeroPoint], outputs: [dq], attrs: {} },
    ];
  };
  const rewired = new Map([...p.rangeOf.keys()].map((t) => [t, `${t}.dq`]));
  const before = graph.nodes.slice();
  const prod = producers(graph);
  const rebuilt: OnnxNode[] = [];
  for (const t of p.rangeOf.keys()) if (!prod.has(t)) rebuilt.push(...qdq(t)); // graph inputs
  for (const n of before) {
    n.inputs = n.inputs.map((i) => rewired.get(i) ?? i);
    rebuilt.push(...(weightNodes.get(n) ?? []), n);
    for (const o of n.outputs) if (p.rangeOf.has(o)) rebuilt.push(...qdq(o));
  }
  graph.nodes.splice(0, graph.nodes.length, ...rebuilt);
  graph.prune();
  return { quantizedConvs: p.convs.length, quantizedAdds: p.adds.length, calibratedTensors: calibrated.length, calibrationImages: images };
}
