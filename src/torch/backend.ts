/**
 * The single dispatch point of every tensor op. `Tensor`, `torch` and `F` call the active
 * backend only, so another backend (e.g. the ONNX exporter's tracing backend) can run the same
 * model code by implementing this interface over its own handles.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { AddonLoadError, DisposedTensorError, TorchError } from './errors.js';

/** An opaque tensor reference owned by a backend. */
export interface Handle {
  readonly __handle: unique symbol;
}
type H = Handle;
type Num = number | null;

export type UnaryOp = 'neg' | 'relu' | 'sigmoid' | 'tanh' | 'exp' | 'log' | 'sqrt' | 'abs' | 'contiguous' | 'clone' | 'logicalNot';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'gt' | 'lt' | 'ge' | 'le' | 'eq' | 'ne' | 'maximum' | 'minimum' | 'matmul' | 'bmm';
export type InplaceOp = 'add' | 'mul' | 'div' | 'zero' | 'fill' | 'copy';

/** Argument order mirrors the ATen signatures (see native/src/ops.cc). */
export interface Backend {
  liveTensors(): number;
  cachedBytes(): number;
  emptyCache(): number;
  /** Bytes of CPU tensor buffers alive now, and the most alive at once since the last reset. */
  allocatedBytes(): [now: number, peak: number];
  resetPeakAllocatedBytes(): void;
  dispose(t: H): void;
  /** Tells V8 the storage bytes of a tensor whose lifetime GC now decides (no scope will free it). */
  reportToGc(t: H): void;
  isDisposed(t: H): boolean;
  fromBuffer(data: ArrayBufferView, shape: readonly number[], dtype: string, copy: boolean): H;
  toBuffer(t: H): ArrayBuffer;
  full(shape: readonly number[], value: number, dtype: string, device: string): H;
  empty(shape: readonly number[], dtype: string, device: string): H;
  randn(shape: readonly number[], dtype: string, device: string): H;
  rand(shape: readonly number[], dtype: string, device: string): H;
  randint(low: number, high: number, shape: readonly number[], dtype: string, device: string): H;
  arange(start: number, end: number, step: number, dtype: string, device: string): H;
  manualSeed(seed: number): void;
  uniform_(t: H, low: number, high: number): void;
  normal_(t: H, mean: number, std: number): void;
  shape(t: H): number[];
  dtype(t: H): string;
  device(t: H): string;
  numel(t: H): number;
  isContiguous(t: H): boolean;
  requiresGrad(t: H): boolean;
  setRequiresGrad(t: H, on: boolean): void;
  isLeaf(t: H): boolean;
  grad(t: H): H | null;
  setGrad(t: H, g: H | null): void;
  backward(t: H, grad: H | null, retainGraph: boolean): void;
  detach(t: H): H;
  item(t: H): number;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  unary(op: UnaryOp, t: H): H;
  binary(op: BinaryOp, a: H, b: H | number): H;
  where(cond: H, a: H, b: H): H;
  clamp(t: H, min: Num, max: Num): H;
  inplace(op: InplaceOp, t: H, other?: H | number, alpha?: number): void;
  sum(t: H, dims: readonly number[] | null, keepdim: boolean): H;
  mean(t: H, dims: readonly number[] | null, keepdim: boolean): H;
  maxAll(t: H): H;
  minAll(t: H): H;
  maxDim(t: H, dim: number, keepdim: boolean): [H, H];
  minDim(t: H, dim: number, keepdim: boolean): [H, H];
  argmax(t: H, dim: Num, keepdim: boolean): H;
  view(t: H, shape: readonly number[]): H;
  reshape(t: H, shape: readonly number[]): H;
  permute(t: H, dims: readonly number[]): H;
  transpose(t: H, a: number, b: number): H;
  flatten(t: H, start: number, end: number): H;
  unsqueeze(t: H, dim: number): H;
  squeeze(t: H, dim: Num): H;
  split(t: H, size: number, dim: number): H[];
  splitWithSizes(t: H, sizes: readonly number[], dim: number): H[];
  chunk(t: H, n: number, dim: number): H[];
  narrow(t: H, dim: number, start: number, length: number): H;
  slice(t: H, dim: number, start: number, end: number, step: number): H;
  select(t: H, dim: number, index: number): H;
  expand(t: H, shape: readonly number[]): H;
  toDtype(t: H, dtype: string): H;
  toDevice(t: H, device: string): H;
  /** Tensor.to(device, dtype, non_blocking, copy); null keeps the tensor's own device / dtype. */
  toWith(t: H, device: string | null, dtype: string | null, nonBlocking: boolean, copy: boolean): H;
  /** A copy in page-locked host memory (libtorch throws without CUDA: callers check cudaIsAvailable). */
  pinMemory(t: H): H;
  isPinned(t: H): boolean;
  cudaSynchronize(): void;
  /** at::globalContext().setBenchmarkCuDNN (torch.backends.cudnn.benchmark); returns the previous value. */
  setCudnnBenchmark(on: boolean): boolean;
  cudnnBenchmark(): boolean;
  /** Tensor.contiguous(memory_format): 'channelsLast' or 'contiguous'. */
  toMemoryFormat(t: H, format: string): H;
  isContiguousIn(t: H, format: string): boolean;
  /** torch.autocast.__enter__ for device type 'cpu' or 'cuda'; returns the state to restore. */
  autocastEnter(deviceType: string, enabled: boolean, dtype: string): [enabled: boolean, dtype: string];
  /** torch.autocast.__exit__: restores the state autocastEnter returned. */
  autocastExit(deviceType: string, enabled: boolean, dtype: string): void;
  isAutocastEnabled(deviceType: string): boolean;
  cat(ts: readonly H[], dim: number): H;
  stack(ts: readonly H[], dim: number): H;
  indexSelect(t: H, dim: number, index: H): H;
  conv2d(x: H, w: H, b: H | null, stride: readonly number[], padding: readonly number[], dilation: readonly number[], groups: number): H;
  convTranspose2d(
    x: H,
    w: H,
    b: H | null,
    stride: readonly number[],
    padding: readonly number[],
    outputPadding: readonly number[],
    groups: number,
    dilation: readonly number[],
  ): H;
  batchNorm(x: H, runningMean: H | null, runningVar: H | null, weight: H | null, bias: H | null, training: boolean, momentum: number, eps: number): H;
  maxPool2d(x: H, kernel: readonly number[], stride: readonly number[], padding: readonly number[], dilation: readonly number[], ceilMode: boolean): H;
  avgPool2d(x: H, kernel: readonly number[], stride: readonly number[], padding: readonly number[], ceilMode: boolean, countIncludePad: boolean): H;
  /** F.pad with a constant: `pad` = (left, right, top, bottom, …) from the last dim backwards, negative values crop. */
  constantPadNd(x: H, pad: readonly number[], value: number): H;
  adaptiveAvgPool2d(x: H, size: readonly number[]): H;
  linear(x: H, w: H, b: H | null): H;
  upsample(x: H, mode: string, size: readonly number[], alignCorners: boolean, scaleH: Num, scaleW: Num): H;
  crossEntropy(logits: H, target: H, weight: H | null, reduction: number, ignoreIndex: number, labelSmoothing: number): H;
  binaryCrossEntropyWithLogits(logits: H, target: H, weight: H | null, posWeight: H | null, reduction: number): H;
  dropout(x: H, p: number, training: boolean): H;
  featureDropout(x: H, p: number, training: boolean): H;
  softmax(x: H, dim: number): H;
  logSoftmax(x: H, dim: number): H;
}

/**
 * The addon's c10d collectives (native/src/distributed.cc), apart from `Backend`: a tracing
 * backend has no process group. Every call but `pgCreate` blocks until the collective is done
 * on every rank, or fails when the group's timeout expires or a peer goes away.
 */
export interface DistributedNative {
  /** The c10d backends this build has: 'gloo', and 'nccl' in a CUDA build with NCCL. */
  pgBackends(): Array<'gloo' | 'nccl'>;
  /**
   * Rendezvous through a TCPStore at masterAddr:port (rank 0 serves it), then a Gloo group, or an
   * NCCL group on GPU `deviceIndex` (host tensors given to its collectives are staged through it); resolves to its id.
   */
  pgCreate(
    rank: number,
    worldSize: number,
    masterAddr: string,
    port: number,
    timeoutMs: number,
    networkInterface: string,
    backend: 'gloo' | 'nccl',
    deviceIndex: number,
  ): Promise<number>;
  pgDestroy(group: number): void;
  /** In-place sum over the ranks of a contiguous tensor. */
  pgAllReduce(group: number, t: H): void;
  /** Σ over the ranks, differentiable: the backward all-reduces the gradient. */
  pgAllReduceDiff(group: number, t: H): H;
  /** In place, root's values to every rank. */
  pgBroadcast(group: number, t: H, root: number): void;
  /** [worldSize, ...shape] in rank order. */
  pgAllGather(group: number, t: H): H;
  pgBarrier(group: number): void;
}

/** Bytes held by the CUDA caching allocator on one GPU (as torch.cuda.memory_allocated / max_memory_allocated / memory_reserved). */
export interface CudaMemoryStats {
  allocated: number;
  peakAllocated: number;
  reserved: number;
  peakReserved: number;
}

/** The addon's CUDA measurement helpers (native/src/cuda.cc); each throws in a CPU build. */
export interface CudaNative {
  cudaMemoryStats(deviceIndex: number): CudaMemoryStats;
  cudaResetPeakMemoryStats(deviceIndex: number): void;
}

/** Where the addon lives, relative to this file in src/torch or dist/torch. */
const addonPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'Release', 'msccnet_torch.node');

/**
 * libgomp (under Debian's libtorch) reads its spin count once, when the addon loads it. Its default
 * spins a waiting thread for 300,000 iterations, so on a machine where another process holds a core
 * every parallel region waits for a descheduled thread: a demo training step took 3–5 s instead of
 * 0.13 s (2 threads, one core busy elsewhere). 10,000 spins then sleeping is as fast as the default
 * on an idle machine and about 10× faster on a busy one (docs/performance.md); a user's own setting wins.
 */
function setOpenMpSpinCount(): void {
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.GOMP_SPINCOUNT = '10000';
}

/** Wraps every addon function so a libtorch error becomes a TorchError (with the JS caller's stack). */
function loadNative(): Backend {
  let addon: Record<string, unknown>;
  setOpenMpSpinCount();
  try {
    addon = createRequire(import.meta.url)(addonPath) as Record<string, unknown>;
  } catch (err) {
    throw new AddonLoadError(addonPath, { cause: err });
  }
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(addon)) {
    if (typeof fn !== 'function' || name === 'NativeTensor') continue;
    const f = fn as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => {
      try {
        return f(...args);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (message === 'tensor was disposed')
          throw new DisposedTensorError(name === 'binary' || name === 'unary' || name === 'inplace' ? String(args[0]) : name);
        throw new TorchError(name === 'binary' || name === 'unary' || name === 'inplace' ? String(args[0]) : name, message, { cause: err });
      }
    };
  }
  return wrapped as unknown as Backend;
}

let native: Backend | null = null;

/** The libtorch addon's collectives (loaded with the addon; libtorch errors become TorchError). */
export function distributedNative(): DistributedNative {
  return (native ??= loadNative()) as unknown as DistributedNative;
}

/** The libtorch addon's CUDA measurement helpers. */
export function cudaNative(): CudaNative {
  return (native ??= loadNative()) as unknown as CudaNative;
}
let active: Backend | null = null;

/** The backend every op goes through (the libtorch addon unless one was substituted). */
export function backend(): Backend {
  if (active === null) active = native ??= loadNative();
  return active;
}

/** Runs fn with another backend active (e.g. a tracer); restores the previous one afterwards. */
export function withBackend<R>(b: Backend, fn: () => R): R {
  const previous = active;
  active = b;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/**
 * Makes `b` the active backend until the next call (null: the addon again); returns the one it
 * replaces. For async work that must run under another backend from start to end (e.g. a whole
 * training run under the device-checking test backend), where withBackend's synchronous scope
 * cannot reach.
 */
export function useBackend(b: Backend | null): Backend | null {
  const previous = active;
  active = b;
  return previous;
}
