/**
 * The tracing backend: a `Backend` whose handles are graph values. Running a model's ordinary
 * `forward` under `withBackend(tracer, …)` records one ONNX node per op, with shapes inferred,
 * so the exported graph comes from the same module code that trains. Handles of the real
 * backend that reach an op (parameters, buffers) become initializers, named by `names`.
 */
import type { Backend, BinaryOp, Handle, InplaceOp, UnaryOp } from '../torch/backend.js';
import { ExportError } from './errors.js';
import { attr, constData, Graph, ONNX_DTYPE_CODE, type Attr, type OnnxDType, type ValueInfo } from './graph.js';
import { ARITH, broadcast, COMPARE, CTOR, matmulShape, normDim, numel, onnxDtype, poolOut, resolveShape, UNARY } from './op-rules.js';

type H = Handle;
type Num = number | null;

/** A traced value: what a tracer handle carries. */
class Traced {
  constructor(readonly info: ValueInfo) {}
}

export interface TracerOptions {
  /** The backend that owns the handles created before tracing (parameters, buffers): read for initializers. */
  source: Backend;
  /** Initializer names for those handles (state-dict keys). */
  names: ReadonlyMap<H, string>;
  /** Skip reading initializer data (a second trace that only compares shapes). */
  shapesOnly?: boolean;
}

/** Implements `Backend` by recording a graph. */
export class TracingBackend implements Backend {
  readonly graph = new Graph();
  readonly #source: Backend;
  readonly #names: ReadonlyMap<H, string>;
  readonly #shapesOnly: boolean;
  readonly #lifted = new Map<H, Traced>();
  readonly #scalars = new Map<string, Traced>();
  #gradEnabled = false;

  constructor(opts: TracerOptions) {
    this.#source = opts.source;
    this.#names = opts.names;
    this.#shapesOnly = opts.shapesOnly ?? false;
  }

  /** A graph input of the given shape; its handle is what the forward receives. */
  input(name: string, dtype: OnnxDType, shape: readonly number[]): H {
    const info = { name, dtype, shape: [...shape] };
    this.graph.values.set(name, info);
    this.graph.inputs.push(info);
    return this.#wrap(info);
  }

  /** Marks the value of `h` as the graph output `name` (an Identity node keeps the name stable). */
  output(name: string, h: H): void {
    const v = this.#get(h);
    this.graph.values.set(name, { name, dtype: v.dtype, shape: v.shape });
    this.graph.nodes.push({ op: 'Identity', inputs: [v.name], outputs: [name], attrs: {} });
    this.graph.outputs.push(this.graph.value(name));
  }

  #wrap(info: ValueInfo): H {
    return new Traced(info) as unknown as H;
  }

  /** The traced value of a handle: ours, or a real tensor lifted to an initializer (once). */
  #get(h: H): ValueInfo {
    if (h instanceof Traced) return h.info;
    let t = this.#lifted.get(h);
    if (t === undefined) {
      const dtype = onnxDtype(this.#source.dtype(h));
      const dims = this.#source.shape(h);
      const data = this.#shapesOnly ? new CTOR[dtype](new ArrayBuffer(0)) : new CTOR[dtype](this.#source.toBuffer(h));
      const name = this.#names.get(h) ?? this.graph.fresh('const');
      t = new Traced(this.graph.addConstant({ name, dtype, dims, data }));
      this.#lifted.set(h, t);
    }
    return t.info;
  }

  #name(h: H): string {
    return this.#get(h).name;
  }

  #node(op: string, inputs: readonly string[], dtype: OnnxDType, shape: readonly number[], attrs: Record<string, Attr> = {}): H {
    return this.#wrap(this.graph.addNode(op, inputs, [{ dtype, shape }], attrs)[0]);
  }

  /** A constant scalar of the dtype (deduplicated): what `x.add(1)` adds. */
  #scalar(value: number, dtype: OnnxDType): string {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let t = this.#scalars.get(key);
    if (t === undefined) {
      t = new Traced(this.graph.addConstant({ name: this.graph.fresh('scalar'), dtype, dims: [], data: constData(dtype, [value]) }));
      this.#scalars.set(key, t);
    }
    return t.info.name;
  }

  #ints(values: readonly number[], shapeOf?: 'reshape' | 'expand'): string {
    return this.graph.addConstant({
      name: this.graph.fresh(shapeOf ? 'shape' : 'ints'),
      dtype: 'int64',
      dims: [values.length],
      data: BigInt64Array.from(values, BigInt),
      shapeOf,
    }).name;
  }

  #unsupported(what: string, hint = 'keep this out of the forward pass that is exported'): never {
    throw new ExportError(`${what} cannot be traced`, hint);
  }

  // ---- bookkeeping -------------------------------------------------------------------------
  liveTensors(): number {
    return 0;
  }
  reportToGc(t: H): void {
    if (!(t instanceof Traced)) this.#source.reportToGc(t);
  }
  cachedBytes(): number {
    return 0;
  }
  emptyCache(): number {
    return 0;
  }
  allocatedBytes(): [number, number] {
    return [0, 0];
  }
  resetPeakAllocatedBytes(): void {
    /* a graph allocates no tensor memory */
  }
  dispose(t: H): void {
    if (!(t instanceof Traced)) this.#source.dispose(t);
  }
  isDisposed(t: H): boolean {
    return t instanceof Traced ? false : this.#source.isDisposed(t);
  }
  shape(t: H): number[] {
    return [...this.#get(t).shape];
  }
  dtype(t: H): string {
    const d = t instanceof Traced ? t.info.dtype : this.#source.dtype(t);
    return d;
  }
  device(): string {
    return 'cpu';
  }
  numel(t: H): number {
    return numel(this.#get(t).shape);
  }
  isContiguous(): boolean {
    return true;
  }
  requiresGrad(): boolean {
    return false;
  }
  setRequiresGrad(): void {
    /* graphs carry no autograd state */
  }
  isLeaf(): boolean {
    return true;
  }
  grad(): H | null {
    return null;
  }
  setGrad(): void {
    this.#unsupported('setting a gradient');
  }
  backward(): never {
    this.#unsupported('backward()');
  }
  detach(t: H): H {
    return this.#wrap(this.#get(t));
  }
  item(t: H): number {
    if (!(t instanceof Traced)) return this.#source.item(t);
    return this.#unsupported('item() on a traced value (data-dependent control flow)', 'compute the value outside forward, or keep it a tensor');
  }
  toBuffer(t: H): ArrayBuffer {
    if (!(t instanceof Traced)) return this.#source.toBuffer(t);
    return this.#unsupported('reading a traced tensor', 'keep the computation in tensor ops');
  }
  setGradEnabled(on: boolean): boolean {
    const was = this.#gradEnabled;
    this.#gradEnabled = on;
    return was;
  }
  isGradEnabled(): boolean {
    return this.#gradEnabled;
  }
  setNumThreads(): void {
    /* no kernels run while tracing */
  }
  getNumThreads(): number {
    return 1;
  }
  cudaIsAvailable(): boolean {
    return false;
  }
  cudaDeviceCount(): number {
    return 0;
  }
  cudaSynchronize(): void {
    /* nothing runs asynchronously while tracing */
  }
  setCudnnBenchmark(): boolean {
    return false;
  }
  cudnnBenchmark(): boolean {
    return false;
  }
  pinMemory(t: H): H {
    return this.#wrap(this.#get(t));
  }
  isPinned(): boolean {
    return false;
  }
  toMemoryFormat(t: H): H {
    return this.#wrap(this.#get(t));
  }
  isContiguousIn(): boolean {
    return true;
  }
  autocastEnter(_deviceType: string, enabled: boolean): [boolean, string] {
    if (enabled) this.#unsupported('autocast', 'export in fp32 (the exporter has its own precision option)');
    return [false, 'float32'];
  }
  autocastExit(): void {
    /* autocastEnter never enables it */
  }
  isAutocastEnabled(): boolean {
    return false;
  }

  // ---- creation ----------------------------------------------------------------------------
  fromBuffer(data: ArrayBufferView, shape: readonly number[], dtype: string): H {
    const d = onnxDtype(dtype);
    const copy = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    return new Traced(this.graph.addConstant({ name: this.graph.fresh('const'), dtype: d, dims: [...shape], data: new CTOR[d](copy) })) as unknown as H;
  }
  full(shape: readonly number[], value: number, dtype: string): H {
    const d = onnxDtype(dtype);
    const data = constData(d, new Array<number>(numel(shape)).fill(value));
    return new Traced(this.graph.addConstant({ name: this.graph.fresh('const'), dtype: d, dims: [...shape], data })) as unknown as H;
  }
  empty(shape: readonly number[], dtype: string): H {
    return this.full(shape, 0, dtype);
  }
  arange(start: number, end: number, step: number, dtype: string): H {
    const values: number[] = [];
    for (let v = start; step > 0 ? v < end : v > end; v += step) values.push(v);
    const d = onnxDtype(dtype);
    return new Traced(this.graph.addConstant({ name: this.graph.fresh('const'), dtype: d, dims: [values.length], data: constData(d, values) })) as unknown as H;
  }
  randn(): H {
    return this.#unsupported('random sampling (randn)');
  }
  rand(): H {
    return this.#unsupported('random sampling (rand)');
  }
  randint(): H {
    return this.#unsupported('random sampling (randint)');
  }
  manualSeed(): void {
    this.#unsupported('manualSeed');
  }
  uniform_(): void {
    this.#unsupported('uniform_');
  }
  normal_(): void {
    this.#unsupported('normal_');
  }
  inplace(op: InplaceOp): void {
    this.#unsupported(`in-place ${op}_`, 'write the forward with out-of-place ops (x.add(y), not x.add_(y))');
  }

  // ---- elementwise -------------------------------------------------------------------------
  unary(op: UnaryOp, t: H): H {
    const v = this.#get(t);
    if (op === 'contiguous' || op === 'clone') return this.#wrap(v);
    const onnxOp = UNARY[op];
    if (onnxOp === undefined) return this.#unsupported(`unary op ${op}`);
    return this.#node(onnxOp, [v.name], v.dtype, v.shape);
  }
  binary(op: BinaryOp, a: H, b: H | number): H {
    const x = this.#get(a);
    const y = typeof b === 'number' ? { name: this.#scalar(b, x.dtype), dtype: x.dtype, shape: [] as number[] } : this.#get(b);
    if (op === 'matmul' || op === 'bmm') return this.#node('MatMul', [x.name, y.name], x.dtype, matmulShape(x.shape, y.shape));
    const shape = broadcast(x.shape, y.shape);
    const arith = ARITH[op];
    if (arith !== undefined) return this.#node(arith, [x.name, y.name], x.dtype, shape);
    const cmp = COMPARE[op];
    if (cmp === undefined) return this.#unsupported(`binary op ${op}`);
    const out = this.#node(cmp, [x.name, y.name], 'bool', shape);
    return op === 'ne' ? this.#node('Not', [this.#name(out)], 'bool', shape) : out;
  }
  where(cond: H, a: H, b: H): H {
    const [c, x, y] = [this.#get(cond), this.#get(a), this.#get(b)];
    return this.#node('Where', [c.name, x.name, y.name], x.dtype, broadcast(c.shape, broadcast(x.shape, y.shape)));
  }
  clamp(t: H, min: Num, max: Num): H {
    const v = this.#get(t);
    return this.#node('Clip', [v.name, min === null ? '' : this.#scalar(min, v.dtype), max === null ? '' : this.#scalar(max, v.dtype)], v.dtype, v.shape);
  }
  softmax(x: H, dim: number): H {
    const v = this.#get(x);
    return this.#node('Softmax', [v.name], v.dtype, v.shape, { axis: attr.int(normDim(dim, v.shape.length)) });
  }
  logSoftmax(x: H, dim: number): H {
    const v = this.#get(x);
    return this.#node('LogSoftmax', [v.name], v.dtype, v.shape, { axis: attr.int(normDim(dim, v.shape.length)) });
  }
  dropout(x: H, _p: number, training: boolean): H {
    if (training) this.#unsupported('dropout in training mode', 'call model.eval() before exporting');
    return this.#wrap(this.#get(x));
  }
  featureDropout(x: H, p: number, training: boolean): H {
    return this.dropout(x, p, training);
  }
  toDtype(t: H, dtype: string): H {
    const v = this.#get(t);
    const d = onnxDtype(dtype);
    return d === v.dtype ? this.#wrap(v) : this.#node('Cast', [v.name], d, v.shape, { to: attr.int(ONNX_DTYPE_CODE[d]) });
  }
  toDevice(t: H): H {
    return this.#wrap(this.#get(t));
  }
  toWith(t: H, _device: string | null, dtype: string | null): H {
    return dtype === null ? this.toDevice(t) : this.toDtype(t, dtype);
  }

  // ---- reductions --------------------------------------------------------------------------
  #reduce(op: string, t: H, dims: readonly number[] | null, keepdim: boolean, dtype?: OnnxDType): H {
    const v = this.#get(t);
    const axes = (dims ?? v.shape.map((_, i) => i)).map((d) => normDim(d, v.shape.length));
    const shape = v.shape.flatMap((s, i) => (axes.includes(i) ? (keepdim ? [1] : []) : [s]));
    return this.#node(op, [v.name, this.#ints(axes)], dtype ?? v.dtype, shape, { keepdims: attr.int(keepdim ? 1 : 0) });
  }
  sum(t: H, dims: readonly number[] | null, keepdim: boolean): H {
    return this.#reduce('ReduceSum', t, dims, keepdim);
  }
  mean(t: H, dims: readonly number[] | null, keepdim: boolean): H {
    return this.#reduce('ReduceMean', t, dims, keepdim);
  }
  maxAll(t: H): H {
    return this.#reduce('ReduceMax', t, null, false);
  }
  minAll(t: H): H {
    return this.#reduce('ReduceMin', t, null, false);
  }
  #argReduce(op: 'ArgMax' | 'ArgMin', t: H, dim: number, keepdim: boolean): H {
    const v = this.#get(t);
    const d = normDim(dim, v.shape.length);
    const shape = v.shape.flatMap((s, i) => (i === d ? (keepdim ? [1] : []) : [s]));
    return this.#node(op, [v.name], 'int64', shape, { axis: attr.int(d), keepdims: attr.int(keepdim ? 1 : 0) });
  }
  maxDim(t: H, dim: number, keepdim: boolean): [H, H] {
    return [this.#reduce('ReduceMax', t, [dim], keepdim), this.#argReduce('ArgMax', t, dim, keepdim)];
  }
  minDim(t: H, dim: number, keepdim: boolean): [H, H] {
    return [this.#reduce('ReduceMin', t, [dim], keepdim), this.#argReduce('ArgMin', t, dim, keepdim)];
  }
  argmax(t: H, dim: Num, keepdim: boolean): H {
    if (dim !== null) return this.#argReduce('ArgMax', t, dim, keepdim);
    return this.#argReduce('ArgMax', this.reshape(t, [-1]), 0, false);
  }

  // ---- shape ops ---------------------------------------------------------------------------
  reshape(t: H, shape: readonly number[]): H {
    const v = this.#get(t);
    const out = resolveShape(shape, numel(v.shape));
    if (out.join() === v.shape.join()) return this.#wrap(v);
    return this.#node('Reshape', [v.name, this.#ints(out, 'reshape')], v.dtype, out);
  }
  view(t: H, shape: readonly number[]): H {
    return this.reshape(t, shape);
  }
  flatten(t: H, start: number, end: number): H {
    const s = this.#get(t).shape;
    if (s.length === 0) return this.reshape(t, [1]);
    const [a, b] = [normDim(start, s.length), normDim(end, s.length)];
    return this.reshape(t, [...s.slice(0, a), numel(s.slice(a, b + 1)), ...s.slice(b + 1)]);
  }
  permute(t: H, dims: readonly number[]): H {
    const v = this.#get(t);
    const perm = dims.map((d) => normDim(d, v.shape.length));
    return this.#node(
      'Transpose',
      [v.name],
      v.dtype,
      perm.map((p) => v.shape[p]),
      { perm: attr.ints(perm) },
    );
  }
  transpose(t: H, a: number, b: number): H {
    const rank = this.#get(t).shape.length;
    const perm = Array.from({ length: rank }, (_, i) => i);
    const [x, y] = [normDim(a, rank), normDim(b, rank)];
    [perm[x], perm[y]] = [perm[y], perm[x]];
    return this.permute(t, perm);
  }
  unsqueeze(t: H, dim: number): H {
    const v = this.#get(t);
    const d = normDim(dim, v.shape.length + 1);
    const shape = [...v.shape.slice(0, d), 1, ...v.shape.slice(d)];
    return this.#node('Unsqueeze', [v.name, this.#ints([d])], v.dtype, shape);
  }
  squeeze(t: H, dim: Num): H {
    const v = this.#get(t);
    const axes = dim === null ? v.shape.flatMap((s, i) => (s === 1 ? [i] : [])) : [normDim(dim, v.shape.length)].filter((d) => v.shape[d] === 1);
    if (axes.length === 0) return this.#wrap(v);
    return this.#node(
      'Squeeze',
      [v.name, this.#ints(axes)],
      v.dtype,
      v.shape.filter((_, i) => !axes.includes(i)),
    );
  }
  splitWithSizes(t: H, sizes: readonly number[], dim: number): H[] {
    const v = this.#get(t);
    const d = normDim(dim, v.shape.length);
    const outs = this.graph.addNode(
      'Split',
      [v.name, this.#ints(sizes)],
      sizes.map((s) => ({ dtype: v.dtype, shape: v.shape.map((x, i) => (i === d ? s : x)) })),
      { axis: attr.int(d) },
    );
    return outs.map((o) => this.#wrap(o));
  }
  split(t: H, size: number, dim: number): H[] {
    const n = this.#get(t).shape[normDim(dim, this.#get(t).shape.length)];
    const sizes: number[] = [];
    for (let at = 0; at < n; at += size) sizes.push(Math.min(size, n - at));
    return this.splitWithSizes(t, sizes, dim);
  }
  chunk(t: H, n: number, dim: number): H[] {
    const len = this.#get(t).shape[normDim(dim, this.#get(t).shape.length)];
    return this.split(t, Math.ceil(len / n), dim);
  }
  slice(t: H, dim: number, start: number, end: number, step: number): H {
    const v = this.#get(t);
    const d = normDim(dim, v.shape.length);
    const n = v.shape[d];
    const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
    const [s, e] = [clampIndex(start), clampIndex(end)];
    const len = Math.max(0, Math.ceil((e - s) / step));
    return this.#node(
      'Slice',
      [v.name, this.#ints([s]), this.#ints([e]), this.#ints([d]), this.#ints([step])],
      v.dtype,
      v.shape.map((x, i) => (i === d ? len : x)),
    );
  }
  narrow(t: H, dim: number, start: number, length: number): H {
    return this.slice(t, dim, start, start + length, 1);
  }
  select(t: H, dim: number, index: number): H {
    const v = this.#get(t);
    const d = normDim(dim, v.shape.length);
    const i = index < 0 ? index + v.shape[d] : index;
    return this.#node(
      'Gather',
      [v.name, this.#scalar(i, 'int64')],
      v.dtype,
      v.shape.filter((_, k) => k !== d),
      { axis: attr.int(d) },
    );
  }
  indexSelect(t: H, dim: number, index: H): H {
    const [v, idx] = [this.#get(t), this.#get(index)];
    const d = normDim(dim, v.shape.length);
    return this.#node(
      'Gather',
      [v.name, idx.name],
      v.dtype,
      v.shape.map((x, i) => (i === d ? numel(idx.shape) : x)),
      { axis: attr.int(d) },
    );
  }
  expand(t: H, shape: readonly number[]): H {
    const v = this.#get(t);
    const pad = shape.length - v.shape.length;
    const out = shape.map((s, i) => (s === -1 ? v.shape[i - pad] : s));
    return this.#node('Expand', [v.name, this.#ints(out, 'expand')], v.dtype, broadcast(v.shape, out));
  }
  cat(ts: readonly H[], dim: number): H {
    const vs = ts.map((t) => this.#get(t));
    const d = normDim(dim, vs[0].shape.length);
    const shape = vs[0].shape.map((x, i) => (i === d ? vs.reduce((a, v) => a + v.shape[d], 0) : x));
    return this.#node(
      'Concat',
      vs.map((v) => v.name),
      vs[0].dtype,
      shape,
      { axis: attr.int(d) },
    );
  }
  stack(ts: readonly H[], dim: number): H {
    const rank = this.#get(ts[0]).shape.length;
    const d = normDim(dim, rank + 1);
    return this.cat(
      ts.map((t) => this.unsqueeze(t, d)),
      d,
    );
  }

  // ---- network layers ----------------------------------------------------------------------
  conv2d(x: H, w: H, b: H | null, stride: readonly number[], padding: readonly number[], dilation: readonly number[], groups: number): H {
    const [xv, wv] = [this.#get(x), this.#get(w)];
    const [N, , Hh, W] = xv.shape;
    const [O, , kh, kw] = wv.shape;
    const shape = [N, O, poolOut(Hh, kh, stride[0], padding[0], dilation[0], false), poolOut(W, kw, stride[1], padding[1], dilation[1], false)];
    return this.#node('Conv', [xv.name, wv.name, ...(b === null ? [] : [this.#name(b)])], xv.dtype, shape, {
      kernel_shape: attr.ints([kh, kw]),
      strides: attr.ints(stride),
      dilations: attr.ints(dilation),
      pads: attr.ints([padding[0], padding[1], padding[0], padding[1]]),
      group: attr.int(groups),
    });
  }
  convTranspose2d(
    x: H,
    w: H,
    b: H | null,
    stride: readonly number[],
    padding: readonly number[],
    outputPadding: readonly number[],
    groups: number,
    dilation: readonly number[],
  ): H {
    const [xv, wv] = [this.#get(x), this.#get(w)];
    const [N, , Hh, W] = xv.shape;
    const [, O, kh, kw] = wv.shape;
    const side = (n: number, d: 0 | 1, k: number) => (n - 1) * stride[d] - 2 * padding[d] + dilation[d] * (k - 1) + outputPadding[d] + 1;
    return this.#node('ConvTranspose', [xv.name, wv.name, ...(b === null ? [] : [this.#name(b)])], xv.dtype, [N, O * groups, side(Hh, 0, kh), side(W, 1, kw)], {
      kernel_shape: attr.ints([kh, kw]),
      strides: attr.ints(stride),
      dilations: attr.ints(dilation),
      output_padding: attr.ints(outputPadding),
      pads: attr.ints([padding[0], padding[1], padding[0], padding[1]]),
      group: attr.int(groups),
    });
  }
  batchNorm(x: H, runningMean: H | null, runningVar: H | null, weight: H | null, bias: H | null, training: boolean, _momentum: number, eps: number): H {
    if (training || runningMean === null || runningVar === null) {
      return this.#unsupported('batch norm with batch statistics', 'call model.eval() before exporting (BN then uses its running statistics)');
    }
    const xv = this.#get(x);
    const C = xv.shape[1];
    const scale = weight === null ? this.#name(this.full([C], 1, 'float32')) : this.#name(weight);
    const shift = bias === null ? this.#name(this.full([C], 0, 'float32')) : this.#name(bias);
    return this.#node('BatchNormalization', [xv.name, scale, shift, this.#name(runningMean), this.#name(runningVar)], xv.dtype, xv.shape, {
      epsilon: attr.float(eps),
    });
  }
  maxPool2d(x: H, kernel: readonly number[], stride: readonly number[], padding: readonly number[], dilation: readonly number[], ceilMode: boolean): H {
    const v = this.#get(x);
    const [N, C, Hh, W] = v.shape;
    const shape = [
      N,
      C,
      poolOut(Hh, kernel[0], stride[0], padding[0], dilation[0], ceilMode),
      poolOut(W, kernel[1], stride[1], padding[1], dilation[1], ceilMode),
    ];
    return this.#node('MaxPool', [v.name], v.dtype, shape, {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(stride),
      dilations: attr.ints(dilation),
      pads: attr.ints([padding[0], padding[1], padding[0], padding[1]]),
      ceil_mode: attr.int(ceilMode ? 1 : 0),
    });
  }
  avgPool2d(x: H, kernel: readonly number[], stride: readonly number[], padding: readonly number[], ceilMode: boolean, countIncludePad: boolean): H {
    const v = this.#get(x);
    const [N, C, Hh, W] = v.shape;
    const shape = [N, C, poolOut(Hh, kernel[0], stride[0], padding[0], 1, ceilMode), poolOut(W, kernel[1], stride[1], padding[1], 1, ceilMode)];
    return this.#node('AveragePool', [v.name], v.dtype, shape, {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(stride),
      pads: attr.ints([padding[0], padding[1], padding[0], padding[1]]),
      ceil_mode: attr.int(ceilMode ? 1 : 0),
      count_include_pad: attr.int(countIncludePad ? 1 : 0),
    });
  }
  constantPadNd(x: H, pad: readonly number[], value: number): H {
    const v = this.#get(x);
    const rank = v.shape.length;
    // torch lists (begin, end) pairs from the last dim backwards; ONNX all begins, then all ends, from dim 0
    const begins = v.shape.map((_, d) => pad[2 * (rank - 1 - d)] ?? 0);
    const ends = v.shape.map((_, d) => pad[2 * (rank - 1 - d) + 1] ?? 0);
    const shape = v.shape.map((s, d) => s + begins[d] + ends[d]);
    return this.#node('Pad', [v.name, this.#ints([...begins, ...ends]), this.#scalar(value, v.dtype)], v.dtype, shape, { mode: attr.string('constant') });
  }
  adaptiveAvgPool2d(x: H, size: readonly number[]): H {
    const v = this.#get(x);
    const [N, C, Hh, W] = v.shape;
    if (size[0] === 1 && size[1] === 1) return this.#node('GlobalAveragePool', [v.name], v.dtype, [N, C, 1, 1]);
    if (Hh % size[0] !== 0 || W % size[1] !== 0) {
      return this.#unsupported(`adaptive average pooling ${Hh}×${W} → ${size[0]}×${size[1]} (uneven windows)`, 'use an output size that divides the input');
    }
    const k = [Hh / size[0], W / size[1]];
    return this.avgPool2d(x, k, k, [0, 0], false, true);
  }
  linear(x: H, w: H, b: H | null): H {
    const [xv, wv] = [this.#get(x), this.#get(w)];
    const out = [...xv.shape.slice(0, -1), wv.shape[0]];
    if (xv.shape.length === 2) {
      return this.#node('Gemm', [xv.name, wv.name, ...(b === null ? [] : [this.#name(b)])], xv.dtype, out, { transB: attr.int(1) });
    }
    const wt = this.#node('Transpose', [wv.name], wv.dtype, [wv.shape[1], wv.shape[0]], { perm: attr.ints([1, 0]) });
    const y = this.#node('MatMul', [xv.name, this.#name(wt)], xv.dtype, out);
    return b === null ? y : this.#node('Add', [this.#name(y), this.#name(b)], xv.dtype, out);
  }
  upsample(x: H, mode: string, size: readonly number[], alignCorners: boolean, scaleH: Num, scaleW: Num): H {
    const v = this.#get(x);
    const shape = [v.shape[0], v.shape[1], size[0], size[1]];
    const common = { axes: attr.ints([2, 3]) };
    const modeAttrs: Record<string, Attr> =
      mode === 'bilinear'
        ? { mode: attr.string('linear'), coordinate_transformation_mode: attr.string(alignCorners ? 'align_corners' : 'pytorch_half_pixel') }
        : { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric'), nearest_mode: attr.string('floor') };
    // With a scale factor PyTorch maps coordinates by that scale, not by the size ratio; Resize's `scales` input does the same.
    if (scaleH !== null && scaleW !== null && !alignCorners) {
      const scales = this.graph.addConstant({ name: this.graph.fresh('scales'), dtype: 'float32', dims: [2], data: Float32Array.of(scaleH, scaleW) }).name;
      return this.#node('Resize', [v.name, '', scales], v.dtype, shape, { ...common, ...modeAttrs });
    }
    return this.#node('Resize', [v.name, '', '', this.#ints(size)], v.dtype, shape, { ...common, ...modeAttrs });
  }
  crossEntropy(): H {
    return this.#unsupported('a loss (cross_entropy)', 'export the eval forward; losses stay in training code');
  }
  binaryCrossEntropyWithLogits(): H {
    return this.#unsupported('a loss (BCE)', 'export the eval forward; losses stay in training code');
  }
}
