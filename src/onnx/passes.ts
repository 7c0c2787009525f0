/** Rewrites of a traced graph: BN folding, float16 weight storage, dynamic int8 convolutions. */
import { attr, constData, float16Bits, ONNX_DTYPE_CODE, type Constant, type Graph, type OnnxNode } from './graph.js';

function floatConst(graph: Graph, name: string | undefined): Constant | undefined {
  const c = name === undefined ? undefined : graph.constants.get(name);
  return c !== undefined && c.dtype === 'float32' ? c : undefined;
}

/**
 * Folds each eval-mode BatchNormalization into the Conv before it (when that Conv feeds only the
 * BN and its parameters are constants): w' = w·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β, in float64.
 * The quantiser then sees the weights the network really applies.
 */
export function foldBatchNorm(graph: Graph): number {
  const consumers = graph.consumers();
  const producer = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const removed = new Set<OnnxNode>();
  for (const bn of graph.nodes) {
    if (bn.op !== 'BatchNormalization') continue;
    const conv = producer.get(bn.inputs[0]);
    if (conv?.op !== 'Conv' || consumers.get(conv.outputs[0])?.length !== 1) continue;
    const [w, b] = [floatConst(graph, conv.inputs[1]), conv.inputs[2] === undefined ? null : floatConst(graph, conv.inputs[2])];
    const [gamma, beta, mean, variance] = bn.inputs.slice(1).map((i) => floatConst(graph, i));
    if (w === undefined || b === undefined || !gamma || !beta || !mean || !variance) continue;
    if ((consumers.get(w.name)?.length ?? 0) !== 1) continue;
    const eps = bn.attrs.epsilon?.kind === 'float' ? bn.attrs.epsilon.value : 1e-5;
    const out = w.dims[0];
    const per = w.data.length / out;
    const wd = new Float32Array(w.data.length);
    const bd = new Float32Array(out);
    for (let o = 0; o < out; o++) {
      const s = Number(gamma.data[o]) / Math.sqrt(Number(variance.data[o]) + eps);
      for (let i = o * per; i < (o + 1) * per; i++) wd[i] = Number(w.data[i]) * s;
      bd[o] = ((b === null ? 0 : Number(b.data[o])) - Number(mean.data[o])) * s + Number(beta.data[o]);
    }
    const prefix = w.name.replace(/\.weight$/, '');
    graph.addConstant({ name: `${prefix}.weight_folded`, dtype: 'float32', dims: w.dims, data: wd });
    graph.addConstant({ name: `${prefix}.bias_folded`, dtype: 'float32', dims: [out], data: bd });
    conv.inputs = [conv.inputs[0], `${prefix}.weight_folded`, `${prefix}.bias_folded`];
    conv.outputs = [bn.outputs[0]];
    removed.add(bn);
  }
  const kept = graph.nodes.filter((n) => !removed.has(n));
  graph.nodes.splice(0, graph.nodes.length, ...kept);
  graph.prune();
  return removed.size;
}

/**
 * Stores float32 weights (more than one element) as float16 and casts them back to float32 at
 * load time: half the file (what a browser downloads), float32 arithmetic (onnxruntime's x86 CPU
 * kernels have no float16 Conv). The Cast nodes fold into constants when the session starts.
 */
export function storeWeightsAsFloat16(graph: Graph): number {
  const casts: OnnxNode[] = [];
  for (const c of [...graph.constants.values()]) {
    if (c.dtype !== 'float32' || c.data.length <= 1) continue;
    const half = `${c.name}.fp16`;
    graph.constants.delete(c.name);
    const bits = new Uint16Array(c.data.length);
    for (let i = 0; i < bits.length; i++) bits[i] = float16Bits((c.data as Float32Array)[i]);
    graph.addConstant({ name: half, dtype: 'float16', dims: c.dims, data: bits });
    graph.values.set(c.name, { name: c.name, dtype: 'float32', shape: [...c.dims] });
    casts.push({ op: 'Cast', inputs: [half], outputs: [c.name], attrs: { to: attr.int(ONNX_DTYPE_CODE.float32) } });
  }
  graph.nodes.unshift(...casts);
  return casts.length;
}

/** Convolutions smaller than this (input features × kernel taps) stay float32: the 3-channel stem conv, where int8 costs accuracy and saves nothing. */
const MIN_QUANT_FAN_IN = 64;

/**
 * Dynamic int8 quantisation of the convolutions (the pattern of onnxruntime's `quantize_dynamic`):
 * the input is quantised per call (DynamicQuantizeLinear: uint8, its own scale and zero point),
 * the weights once per output channel, symmetric, stored as uint8 with zero point 128 (the CPU
 * ConvInteger kernel takes uint8 weights and one zero point); ConvInteger accumulates in int32,
 * then y = acc · (x_scale · w_scale[c]) + bias.
 */
export function quantizeConvsDynamicInt8(graph: Graph): number {
  const rewritten: OnnxNode[] = [];
  let count = 0;
  for (const conv of graph.nodes) {
    const w = conv.op === 'Conv' ? floatConst(graph, conv.inputs[1]) : undefined;
    if (w === undefined || w.dims.length !== 4 || w.dims[1] * w.dims[2] * w.dims[3] < MIN_QUANT_FAN_IN) {
      rewritten.push(conv);
      continue;
    }
    const bias = conv.inputs[2] === undefined ? undefined : floatConst(graph, conv.inputs[2]);
    if (conv.inputs[2] !== undefined && bias === undefined) {
      rewritten.push(conv);
      continue;
    }
    const out = w.dims[0];
    const q = new Uint8Array(w.data.length);
    const scales = quantizePerChannel(w, q, -127, 127, 128);
    const base = w.name.replace(/\.weight(_folded)?$/, '');
    const yName = conv.outputs[0];
    const y = graph.value(yName);
    const wq = graph.addConstant({ name: `${base}.weight_quantized`, dtype: 'uint8', dims: w.dims, data: q }).name;
    const wzp = graph.addConstant({ name: `${base}.weight_zero_point`, dtype: 'uint8', dims: [], data: constData('uint8', [128]) }).name;
    const ws = graph.addConstant({ name: `${base}.weight_scale`, dtype: 'float32', dims: [1, out, 1, 1], data: scales }).name;
    const [xq, xs, xzp] = [`${base}.input_quantized`, `${base}.input_scale`, `${base}.input_zero_point`];
    const [acc, accF, scale, scaled] = [`${base}.acc`, `${base}.acc_float`, `${base}.scale`, `${base}.scaled`];
    rewritten.push(
      { op: 'DynamicQuantizeLinear', inputs: [conv.inputs[0]], outputs: [xq, xs, xzp], attrs: {} },
      { op: 'ConvInteger', inputs: [xq, wq, xzp, wzp], outputs: [acc], attrs: Object.fromEntries(Object.entries(conv.attrs)) },
      { op: 'Cast', inputs: [acc], outputs: [accF], attrs: { to: attr.int(ONNX_DTYPE_CODE.float32) } },
      { op: 'Mul', inputs: [xs, ws], outputs: [scale], attrs: {} },
      { op: 'Mul', inputs: [accF, scale], outputs: [bias === undefined ? yName : scaled], attrs: {} },
    );
    if (bias !== undefined) {
      const b4 = graph.addConstant({
        name: `${base}.bias_4d`,
        dtype: 'float32',
        dims: [1, out, 1, 1],
        data: Float32Array.from(bias.data as Float32Array),
      }).name;
      rewritten.push({ op: 'Add', inputs: [scaled, b4], outputs: [yName], attrs: {} });
    }
    for (const [name, dtype] of [
      [xq, 'uint8'],
      [xs, 'float32'],
      [xzp, 'uint8'],
      [acc, 'int32'],
      [accF, 'float32'],
      [scale, 'float32'],
      [scaled, 'float32'],
    ] as const) {
      graph.values.set(name, { name, dtype, shape: name === xs || name === xzp ? [] : y.shape });
    }
    count++;
  }
  graph.nodes.splice(0, graph.nodes.length, ...rewritten);
  graph.prune();
  return count;
}

/**
 * Symmetric per-output-channel quantisation of a conv weight [out, …] into `target`:
 * q = clamp(round(w / s), qmin, qmax) + zeroPoint with s = max|w| / qmax per channel; returns the scales.
 */
export function quantizePerChannel(w: Constant, target: Int8Array | Uint8Array, qmin: number, qmax: number, zeroPoint = 0): Float32Array {
  const out = w.dims[0];
  const per = w.data.length / out;
  const scales = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let max = 0;
    for (let i = o * per; i < (o + 1) * per; i++) max = Math.max(max, Math.abs(Number(w.data[i])));
    scales[o] = max > 0 ? max / qmax : 1;
    for (let i = o * per; i < (o + 1) * per; i++) target[i] = Math.min(qmax, Math.max(qmin, Math.round(Number(w.data[i]) / scales[o]))) + zeroPoint;
  }
  return scales;
}
