import { ArgumentError } from '../errors.js';
import { backend, type BinaryOp, type Handle, type UnaryOp } from './backend.js';
import { DisposedTensorError } from './errors.js';
import { track } from './scope.js';

/** Element types. float16/bfloat16 exist so safetensors files can be read; compute in float32. */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool' | 'float16' | 'bfloat16';
/** `'cpu'`, or `'cuda:N'` when the linked libtorch was built with CUDA. */
export type Device = 'cpu' | `cuda:${number}` | 'cuda';

/** torch.memory_format: `channelsLast` is NHWC in memory (faster convolutions on tensor cores). */
export type MemoryFormat = 'contiguous' | 'channelsLast';

/** The options of `Tensor.to` (PyTorch's keyword arguments). */
export interface ToOptions {
  /** also convert to this dtype (one copy for both) */
  dtype?: DType;
  /** host→device from pinned memory returns before the copy is done (ordered on the device's stream) */
  nonBlocking?: boolean;
  /** a new tensor even when nothing changes */
  copy?: boolean;
}

/** The typed array that holds each dtype's elements (bool as 0/1 bytes, 16-bit floats as raw bits). */
export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
}
export type TypedArray = TypedArrayOf[DType];

export const typedArrayCtor = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
} as const;

/** Bytes per element of each dtype. */
export const dtypeBytes: Record<DType, number> = {
  float32: 4,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
  float16: 2,
  bfloat16: 2,
};

/** A shape given as one array or as separate numbers, PyTorch style: `view(2, 3)` or `view([2, 3])`. */
export type ShapeArgs = [readonly number[]] | number[];
function shapeOf(args: ShapeArgs): readonly number[] {
  return Array.isArray(args[0]) ? (args[0] as readonly number[]) : (args as number[]);
}

function dims(dim: number | readonly number[] | undefined): readonly number[] | null {
  return dim === undefined ? null : typeof dim === 'number' ? [dim] : dim;
}

/**
 * A tensor: one reference to a native (libtorch) tensor. Ops return new tensors; methods ending
 * in `_` modify this tensor in place and return it (PyTorch's convention). Free it with
 * `dispose()` or let a `torch.tidy()` scope do it; otherwise GC frees it eventually.
 */
export class Tensor {
  #handle: Handle | null;
  #shape: number[] | undefined;
  #dtype: DType | undefined;

  /** Internal: wraps a backend handle without registering it in a scope (use `Tensor.wrap`). */
  constructor(handle: Handle) {
    this.#handle = handle;
  }

  /** Internal: wraps a fresh handle and registers it with the innermost tidy() scope. */
  static wrap(handle: Handle): Tensor {
    const t = new Tensor(handle);
    track(t);
    return t;
  }

  /** The backend handle; throws if disposed. For backends and tests, not model code. */
  get handle(): Handle {
    if (this.#handle === null) throw new DisposedTensorError('tensor');
    return this.#handle;
  }

  get shape(): number[] {
    this.#shape ??= backend().shape(this.handle);
    return [...this.#shape];
  }
  get ndim(): number {
    return (this.#shape ??= backend().shape(this.handle)).length;
  }
  /** Size of one dimension (negative counts from the end), or the whole shape. */
  size(dim: number): number {
    const s = (this.#shape ??= backend().shape(this.handle));
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new ArgumentError('dim', `an integer in [${-s.length}, ${s.length})`, dim);
    return s[d];
  }
  get numel(): number {
    return (this.#shape ??= backend().shape(this.handle)).reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return (this.#dtype ??= backend().dtype(this.handle) as DType);
  }
  get device(): Device {
    return backend().device(this.handle) as Device;
  }
  get isContiguous(): boolean {
    return backend().isContiguous(this.handle);
  }
  /** Whether the elements are laid out in `format` (PyTorch's `is_contiguous(memory_format=…)`). */
  isContiguousIn(format: MemoryFormat): boolean {
    return backend().isContiguousIn(this.handle, format);
  }
  /** Whether the data lives in page-locked host memory (see pinMemory). */
  get isPinned(): boolean {
    return backend().isPinned(this.handle);
  }

  get requiresGrad(): boolean {
    return backend().requiresGrad(this.handle);
  }
  set requiresGrad(on: boolean) {
    backend().setRequiresGrad(this.handle, on);
  }
  /** Sets requiresGrad in place and returns this (PyTorch's `requires_grad_()`). */
  requiresGrad_(on = true): this {
    backend().setRequiresGrad(this.handle, on);
    return this;
  }
  get isLeaf(): boolean {
    return backend().isLeaf(this.handle);
  }
  /** The accumulated gradient (a new reference each read; it shares the gradient's memory), or null. */
  get grad(): Tensor | null {
    const g = backend().grad(this.handle);
    return g === null ? null : Tensor.wrap(g);
  }
  set grad(g: Tensor | null) {
    backend().setGrad(this.handle, g === null ? null : g.handle);
  }
  /** Backpropagates from this tensor (a scalar, or pass `grad` of the same shape). */
  backward(grad?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    backend().backward(this.handle, grad?.handle ?? null, opts.retainGraph ?? false);
  }
  detach(): Tensor {
    return Tensor.wrap(backend().detach(this.handle));
  }

  /** A copy of the elements, in row-major order, as the dtype's typed array. */
  toTypedArray(): TypedArray {
    return new typedArrayCtor[this.dtype](backend().toBuffer(this.handle));
  }
  /** Alias of toTypedArray() (tfjs name). */
  dataSync(): TypedArray {
    return this.toTypedArray();
  }
  /** The elements as plain numbers (int64 converted with Number()). */
  toArray(): number[] {
    const a = this.toTypedArray();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a);
  }
  /** The value of a one-element tensor. */
  item(): number {
    return backend().item(this.handle);
  }

  /** Drops this reference to the native tensor now. Idempotent. */
  dispose(): void {
    if (this.#handle === null) return;
    backend().dispose(this.#handle);
    this.#handle = null;
  }
  get isDisposed(): boolean {
    return this.#handle === null;
  }
  /** Internal (scopes): from now on GC may be what frees it, so V8 counts its storage bytes. */
  leaveToGc(): void {
    if (this.#handle !== null) backend().reportToGc(this.#handle);
  }

  #un(op: UnaryOp): Tensor {
    return Tensor.wrap(backend().unary(op, this.handle));
  }
  #bin(op: BinaryOp, other: Tensor | number): Tensor {
    return Tensor.wrap(backend().binary(op, this.handle, typeof other === 'number' ? other : other.handle));
  }

  add(other: Tensor | number): Tensor {
    return this.#bin('add', other);
  }
  sub(other: Tensor | number): Tensor {
    return this.#bin('sub', other);
  }
  mul(other: Tensor | number): Tensor {
    return this.#bin('mul', other);
  }
  div(other: Tensor | number): Tensor {
    return this.#bin('div', other);
  }
  pow(exponent: Tensor | number): Tensor {
    return this.#bin('pow', exponent);
  }
  maximum(other: Tensor | number): Tensor {
    return this.#bin('maximum', other);
  }
  minimum(other: Tensor | number): Tensor {
    return this.#bin('minimum', other);
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return Tensor.wrap(backend().clamp(this.handle, min, max));
  }
  gt(other: Tensor | number): Tensor {
    return this.#bin('gt', other);
  }
  lt(other: Tensor | number): Tensor {
    return this.#bin('lt', other);
  }
  ge(other: Tensor | number): Tensor {
    return this.#bin('ge', other);
  }
  le(other: Tensor | number): Tensor {
    return this.#bin('le', other);
  }
  eq(other: Tensor | number): Tensor {
    return this.#bin('eq', other);
  }
  ne(other: Tensor | number): Tensor {
    return this.#bin('ne', other);
  }
  logicalNot(): Tensor {
    return this.#un('logicalNot');
  }
  matmul(other: Tensor): Tensor {
    return this.#bin('matmul', other);
  }
  bmm(other: Tensor): Tensor {
    return this.#bin('bmm', other);
  }

  neg(): Tensor {
    return this.#un('neg');
  }
  relu(): Tensor {
    return this.#un('relu');
  }
  sigmoid(): Tensor {
    return this.#un('sigmoid');
  }
  tanh(): Tensor {
    return this.#un('tanh');
  }
  exp(): Tensor {
    return this.#un('exp');
  }
  log(): Tensor {
    return this.#un('log');
  }
  sqrt(): Tensor {
    return this.#un('sqrt');
  }
  abs(): Tensor {
    return this.#un('abs');
  }
  /** A tensor laid out in `format` (default row-major); PyTorch's `contiguous(memory_format=…)`. */
  contiguous(format?: MemoryFormat): Tensor {
    return format === undefined ? this.#un('contiguous') : Tensor.wrap(backend().toMemoryFormat(this.handle, format));
  }
  clone(): Tensor {
    return this.#un('clone');
  }
  softmax(dim: number): Tensor {
    return Tensor.wrap(backend().softmax(this.handle, dim));
  }
  logSoftmax(dim: number): Tensor {
    return Tensor.wrap(backend().logSoftmax(this.handle, dim));
  }

  /** Sum over all elements, or over `dim` (one or several). */
  sum(dim?: number | readonly number[], keepdim = false): Tensor {
    return Tensor.wrap(backend().sum(this.handle, dims(dim), keepdim));
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return Tensor.wrap(backend().mean(this.handle, dims(dim), keepdim));
  }
  /** Largest element; with `dim`, the maxima and their indices along it (PyTorch's named tuple). */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return Tensor.wrap(backend().maxAll(this.handle));
    const [values, indices] = backend().maxDim(this.handle, dim, keepdim);
    return { values: Tensor.wrap(values), indices: Tensor.wrap(indices) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return Tensor.wrap(backend().minAll(this.handle));
    const [values, indices] = backend().minDim(this.handle, dim, keepdim);
    return { values: Tensor.wrap(values), indices: Tensor.wrap(indices) };
  }
  /** Index of the largest element (flattened), or along `dim`; int64. */
  argmax(dim?: number, keepdim = false): Tensor {
    return Tensor.wrap(backend().argmax(this.handle, dim ?? null, keepdim));
  }

  view(...shape: ShapeArgs): Tensor {
    return Tensor.wrap(backend().view(this.handle, shapeOf(shape)));
  }
  reshape(...shape: ShapeArgs): Tensor {
    return Tensor.wrap(backend().reshape(this.handle, shapeOf(shape)));
  }
  permute(...order: ShapeArgs): Tensor {
    return Tensor.wrap(backend().permute(this.handle, shapeOf(order)));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return Tensor.wrap(backend().transpose(this.handle, dim0, dim1));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return Tensor.wrap(backend().flatten(this.handle, startDim, endDim));
  }
  unsqueeze(dim: number): Tensor {
    return Tensor.wrap(backend().unsqueeze(this.handle, dim));
  }
  /** Removes size-1 dimensions (all, or only `dim`). */
  squeeze(dim?: number): Tensor {
    return Tensor.wrap(backend().squeeze(this.handle, dim ?? null));
  }
  expand(...shape: ShapeArgs): Tensor {
    return Tensor.wrap(backend().expand(this.handle, shapeOf(shape)));
  }
  /** Pieces of `size` along dim (the last may be smaller), or pieces of the given sizes. */
  split(size: number | readonly number[], dim = 0): Tensor[] {
    const parts = typeof size === 'number' ? backend().split(this.handle, size, dim) : backend().splitWithSizes(this.handle, size, dim);
    return parts.map((h) => Tensor.wrap(h));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return backend()
      .chunk(this.handle, chunks, dim)
      .map((h) => Tensor.wrap(h));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return Tensor.wrap(backend().narrow(this.handle, dim, start, length));
  }
  /** Python's `x[..., start:end:step, ...]` on one dim; negative indices count from the end. */
  slice(dim: number, start = 0, end = Number.MAX_SAFE_INTEGER, step = 1): Tensor {
    return Tensor.wrap(backend().slice(this.handle, dim, start, end, step));
  }
  /** `x[..., index, ...]` on one dim (removes it). */
  select(dim: number, index: number): Tensor {
    return Tensor.wrap(backend().select(this.handle, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return Tensor.wrap(backend().indexSelect(this.handle, dim, index.handle));
  }

  /**
   * Converts to a dtype or moves to a device (a new reference; the same data if nothing changes,
   * like PyTorch). `to(device, { dtype, nonBlocking, copy })` is PyTorch's
   * `to(device, dtype, non_blocking, copy)`: batches go `pinMemory().to('cuda:0', { nonBlocking: true })`.
   */
  to(target: DType | Device, opts?: ToOptions): Tensor {
    const device = isDevice(target);
    if (opts === undefined) return Tensor.wrap(device ? backend().toDevice(this.handle, target) : backend().toDtype(this.handle, target));
    return Tensor.wrap(
      backend().toWith(this.handle, device ? target : null, device ? (opts.dtype ?? null) : target, opts.nonBlocking ?? false, opts.copy ?? false),
    );
  }
  /**
   * A copy in page-locked host memory, from which `to(cuda, { nonBlocking: true })` copies
   * asynchronously. Without CUDA (a CPU libtorch) there is nothing to pin for, and libtorch
   * would throw: this tensor itself is returned, so CPU code needs no branch.
   */
  pinMemory(): Tensor {
    if (!backend().cudaIsAvailable()) return this;
    return Tensor.wrap(backend().pinMemory(this.handle));
  }
  /**
   * Points this object at `source`'s data, as PyTorch's `param.data = source`: the object (and
   * so its identity as a module's parameter or an optimizer's key) stays, requiresGrad is kept.
   * `source` is not consumed.
   */
  setData(source: Tensor): void {
    const requiresGrad = this.requiresGrad;
    const h = backend().detach(source.handle);
    if (requiresGrad) backend().setRequiresGrad(h, true);
    backend().dispose(this.handle);
    this.#handle = h;
    this.#shape = undefined;
    this.#dtype = undefined;
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  long(): Tensor {
    return this.to('int64');
  }

  add_(other: Tensor | number, alpha = 1): this {
    backend().inplace('add', this.handle, typeof other === 'number' ? other : other.handle, alpha);
    return this;
  }
  sub_(other: Tensor | number, alpha = 1): this {
    return this.add_(other, -alpha);
  }
  mul_(other: Tensor | number): this {
    backend().inplace('mul', this.handle, typeof other === 'number' ? other : other.handle);
    return this;
  }
  div_(other: Tensor | number): this {
    backend().inplace('div', this.handle, typeof other === 'number' ? other : other.handle);
    return this;
  }
  zero_(): this {
    backend().inplace('zero', this.handle);
    return this;
  }
  fill_(value: number): this {
    backend().inplace('fill', this.handle, value);
    return this;
  }
  copy_(src: Tensor): this {
    backend().inplace('copy', this.handle, src.handle);
    return this;
  }
  /** Fills with U(low, high) from libtorch's generator (seeded by torch.manualSeed); no autograd. */
  uniform_(low = 0, high = 1): this {
    backend().uniform_(this.handle, low, high);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    backend().normal_(this.handle, mean, std);
    return this;
  }

  toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

export function isDevice(s: string): s is Device {
  return s === 'cpu' || s === 'cuda' || /^cuda:\d+$/.test(s);
}
