/** The `torch` namespace: tensor creation, grad mode, scopes, RNG, threads and devices. */
import { ArgumentError } from '../errors.js';
import { backend, type Handle } from './backend.js';
import { dispose, keep, tidy } from './scope.js';
import { dtypeBytes, isDevice, Tensor, type Device, type DType, type TypedArray } from './tensor.js';

export interface CreateOptions {
  /** Element type; default float32 (torch.get_default_dtype()). */
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

let defaultDtype: DType = 'float32';

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function checkShape(shape: readonly number[], name = 'shape'): readonly number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ArgumentError(name, 'an array of non-negative integers', shape);
  }
  return shape as readonly number[]; // Array.isArray narrows a readonly array to any[]
}

function dtypeOfArray(data: TypedArray | readonly number[]): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (Array.isArray(data)) return defaultDtype;
  throw new ArgumentError('data', 'a typed array (Float32Array, Float64Array, BigInt64Array, Int32Array, Uint8Array, …) or number[]', data);
}

function bytesView(data: TypedArray | readonly number[], dtype: DType): ArrayBufferView {
  if (!Array.isArray(data)) return data as ArrayBufferView;
  switch (dtype) {
    case 'float32':
      return Float32Array.from(data);
    case 'float64':
      return Float64Array.from(data);
    case 'int64':
      return BigInt64Array.from(data, (v: number) => BigInt(Math.trunc(v)));
    case 'int32':
      return Int32Array.from(data);
    case 'int16':
      return Int16Array.from(data);
    case 'int8':
      return Int8Array.from(data);
    case 'uint8':
      return Uint8Array.from(data);
    case 'bool':
      return Uint8Array.from(data, (v) => (v ? 1 : 0));
    default:
      throw new ArgumentError('dtype', 'float32, float64, int64, int32, int16, int8, uint8 or bool for number[] data', dtype);
  }
}

/**
 * A tensor holding a copy of `data` with the given shape. The dtype defaults to the typed
 * array's own (number[] → float32); a typed array of another dtype is converted.
 */
function tensor(data: TypedArray | readonly number[], shape: readonly number[], dtypeOrOpts: DType | CreateOptions = {}): Tensor {
  const opts = typeof dtypeOrOpts === 'string' ? { dtype: dtypeOrOpts } : dtypeOrOpts;
  checkShape(shape);
  const natural = dtypeOfArray(data);
  const dtype = opts.dtype ?? natural;
  const sourceDtype = Array.isArray(data) ? dtype : natural;
  let t = Tensor.wrap(backend().fromBuffer(bytesView(data, sourceDtype), shape, sourceDtype, true));
  const convert = (target: DType | Device) => {
    const converted = t.to(target);
    t.dispose();
    t = converted;
  };
  if (sourceDtype !== dtype) convert(dtype);
  if (opts.device && opts.device !== 'cpu') convert(opts.device);
  return finish(t, opts);
}

/**
 * A CPU tensor that shares memory with `data` (no copy): writes through either are visible in
 * the other, and the tensor keeps `data`'s buffer alive for as long as libtorch needs it.
 * Copies instead when the data is not aligned to its element size. `dtype` reinterprets the bytes
 * (e.g. 'bool' or 'float16' over a Uint8Array / Uint16Array).
 */
function fromTypedArray(data: TypedArray, shape: readonly number[], dtype: DType = dtypeOfArray(data)): Tensor {
  checkShape(shape);
  if (!ArrayBuffer.isView(data)) throw new ArgumentError('data', 'a typed array', data);
  const aligned = data.byteOffset % dtypeBytes[dtype] === 0;
  return Tensor.wrap(backend().fromBuffer(data, shape, dtype, !aligned));
}

function device(opts: CreateOptions): string {
  const d = opts.device ?? 'cpu';
  if (!isDevice(d)) throw new ArgumentError('device', "'cpu' or 'cuda:N'", d);
  return d;
}

function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  return finish(Tensor.wrap(backend().full(checkShape(shape), value, opts.dtype ?? defaultDtype, device(opts))), opts);
}

/** Integers in [start, end) by step (float dtypes when any argument is fractional, else int64). */
function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  const dtype = opts.dtype ?? ([s, e, step].every(Number.isInteger) ? 'int64' : defaultDtype);
  return finish(Tensor.wrap(backend().arange(s, e, step, dtype, device(opts))), opts);
}

/**
 * Runs fn with autograd recording off (synchronous only), like `with torch.no_grad():`.
 */
function noGrad<R>(fn: () => R): R {
  const previous = backend().setGradEnabled(false);
  try {
    const result = fn();
    if (result instanceof Promise) throw new ArgumentError('noGrad(fn)', 'a synchronous function', result, 'await outside noGrad()');
    return result;
  } finally {
    backend().setGradEnabled(previous);
  }
}

/** Runs fn with autograd recording on (inside a noGrad block). */
function enableGrad<R>(fn: () => R): R {
  const previous = backend().setGradEnabled(true);
  try {
    return fn();
  } finally {
    backend().setGradEnabled(previous);
  }
}

/** The lower-precision dtypes autocast runs in (torch.autocast's `dtype`). */
export type AutocastDtype = 'bfloat16' | 'float16';

/**
 * Runs fn (synchronous) with autocast on for `device`'s type, as `with torch.autocast(device_type,
 * dtype):` — matmuls and convolutions run in `dtype`, precision-sensitive ops (softmax, losses,
 * reductions) in float32, parameters stay float32. libtorch's CPU autocast supports bfloat16 only.
 */
function autocast<R>(device: Device, opts: { dtype: AutocastDtype; enabled?: boolean }, fn: () => R): R {
  const type = device === 'cpu' ? 'cpu' : 'cuda';
  const [enabled, dtype] = backend().autocastEnter(type, opts.enabled ?? true, opts.dtype);
  try {
    const result = fn();
    if (result instanceof Promise) throw new ArgumentError('autocast(fn)', 'a synchronous function', result, 'await outside autocast()');
    return result;
  } finally {
    backend().autocastExit(type, enabled, dtype);
  }
}

function tensors(list: readonly Tensor[], what: string): Handle[] {
  if (!Array.isArray(list) || list.length === 0) throw new ArgumentError(what, 'a non-empty array of tensors', list);
  return (list as readonly Tensor[]).map((t) => t.handle);
}

export const torch = {
  tensor,
  fromTypedArray,
  full,
  zeros: (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 0, opts),
  ones: (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 1, opts),
  /** Uninitialised memory (fast; fill it before reading). */
  empty: (shape: readonly number[], opts: CreateOptions = {}) =>
    finish(Tensor.wrap(backend().empty(checkShape(shape), opts.dtype ?? defaultDtype, device(opts))), opts),
  zerosLike: (t: Tensor, opts: CreateOptions = {}) => full(t.shape, 0, { dtype: t.dtype, ...opts }),
  onesLike: (t: Tensor, opts: CreateOptions = {}) => full(t.shape, 1, { dtype: t.dtype, ...opts }),
  /** Standard normal samples from libtorch's generator (see manualSeed). */
  randn: (shape: readonly number[], opts: CreateOptions = {}) =>
    finish(Tensor.wrap(backend().randn(checkShape(shape), opts.dtype ?? defaultDtype, device(opts))), opts),
  /** U[0, 1) samples from libtorch's generator. */
  rand: (shape: readonly number[], opts: CreateOptions = {}) =>
    finish(Tensor.wrap(backend().rand(checkShape(shape), opts.dtype ?? defaultDtype, device(opts))), opts),
  /** Integers in [low, high), int64 unless `dtype` says otherwise. */
  randint: (low: number, high: number, shape: readonly number[], opts: CreateOptions = {}) =>
    Tensor.wrap(backend().randint(low, high, checkShape(shape), opts.dtype ?? 'int64', device(opts))),
  arange,
  cat: (list: readonly Tensor[], dim = 0) => Tensor.wrap(backend().cat(tensors(list, 'cat(tensors)'), dim)),
  stack: (list: readonly Tensor[], dim = 0) => Tensor.wrap(backend().stack(tensors(list, 'stack(tensors)'), dim)),
  /** Elementwise `cond ? a : b`. */
  where: (cond: Tensor, a: Tensor, b: Tensor) => Tensor.wrap(backend().where(cond.handle, a.handle, b.handle)),
  /** Seeds libtorch's CPU (and CUDA) generators: randn, rand, dropout and the nn initialisers. */
  manualSeed: (seed: number) => {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ArgumentError('seed', 'a non-negative integer', seed);
    backend().manualSeed(seed);
  },
  noGrad,
  enableGrad,
  isGradEnabled: () => backend().isGradEnabled(),
  tidy,
  keep,
  dispose,
  /** Intra-op threads of libtorch's CPU kernels (torch.set_num_threads). */
  setNumThreads: (n: number) => {
    if (!Number.isInteger(n) || n < 1) throw new ArgumentError('threads', 'a positive integer', n);
    backend().setNumThreads(n);
  },
  getNumThreads: () => backend().getNumThreads(),
  /**
   * liveTensors: native tensor references alive now (Tensor objects not yet disposed or
   * collected); allocatedBytes: bytes of CPU tensor buffers alive now (views share one);
   * peakAllocatedBytes: the most alive at once since resetPeakMemoryStats() (PyTorch's
   * max_memory_allocated); cachedBytes: freed tensor buffers the addon keeps for reuse.
   */
  memory: () => {
    const [allocatedBytes, peakAllocatedBytes] = backend().allocatedBytes();
    return { liveTensors: backend().liveTensors(), allocatedBytes, peakAllocatedBytes, cachedBytes: backend().cachedBytes() };
  },
  /** Starts peakAllocatedBytes over from the bytes alive now (torch.cuda.reset_peak_memory_stats). */
  resetPeakMemoryStats: (): void => backend().resetPeakAllocatedBytes(),
  /** Returns the cached free tensor buffers to the OS (they are reused otherwise); returns the bytes released. */
  emptyCache: () => backend().emptyCache(),
  getDefaultDtype: (): DType => defaultDtype,
  /** torch.set_default_dtype: the floating type of new tensors and modules (float32, or float64 for precision checks). */
  setDefaultDtype: (dtype: 'float32' | 'float64'): void => {
    if (dtype !== 'float32' && dtype !== 'float64') throw new ArgumentError('dtype', "'float32' or 'float64'", dtype);
    defaultDtype = dtype;
  },
  cuda: {
    isAvailable: () => backend().cudaIsAvailable(),
    deviceCount: () => backend().cudaDeviceCount(),
    /** Waits for every queued kernel and copy on the current GPU (torch.cuda.synchronize); for timing. */
    synchronize: (): void => {
      if (backend().cudaIsAvailable()) backend().cudaSynchronize();
    },
  },
  backends: {
    cudnn: {
      /**
       * torch.backends.cudnn.benchmark: cuDNN times its convolution algorithms on the first call
       * of each input shape and keeps the fastest (worth it when shapes are fixed, as in training
       * at one crop size). A flag only on a CPU build.
       */
      get benchmark(): boolean {
        return backend().cudnnBenchmark();
      },
      set benchmark(on: boolean) {
        backend().setCudnnBenchmark(on);
      },
    },
  },
  autocast,
  /** A device after checking it exists in the linked libtorch. */
  device: (name: string): Device => {
    if (!isDevice(name)) throw new ArgumentError('device', "'cpu', 'cuda' or 'cuda:N'", name);
    if (name !== 'cpu') {
      const n = backend().cudaDeviceCount();
      const index = name === 'cuda' ? 0 : Number(name.slice(5));
      if (index >= n) {
        throw new ArgumentError(
          'device',
          `'cpu'${n ? ` or cuda:0…cuda:${n - 1}` : ''}`,
          name,
          n ? 'pick an existing GPU' : 'this libtorch has no CUDA device; rebuild the addon with LIBTORCH=/path/to/cuda-libtorch',
        );
      }
    }
    return name;
  },
};
