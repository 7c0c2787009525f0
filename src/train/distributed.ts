/**
 * Data-parallel process groups over libtorch's c10d (native/src/distributed.cc): a TCPStore
 * rendezvous at the master's address and a Gloo group (CPU) or an NCCL group (one GPU per rank),
 * as torch.distributed with init_method="tcp://" and backend="gloo"/"nccl". What DistributedDataParallel does around the step
 * is done explicitly by the trainer: rank 0's weights broadcast once, gradients averaged in
 * flat buckets after backward, BatchNorm statistics synchronised (SyncBatchNorm) in the forward.
 */
import { BatchNorm2d, type Module } from '../nn/index.js';
import { distributedNative, Tensor, torch, type DistributedNative } from '../torch/index.js';
import { DistributedError } from './errors.js';

/** What the trainer needs from a data-parallel process group. */
export interface ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** Copies rank 0's parameters and buffers to every rank (identical start). */
  broadcastParameters(model: Module): void;
  /** Replaces every parameter gradient by its mean over the ranks. */
  allReduceGradients(model: Module): void;
  /** Makes every BatchNorm2d of the model normalise with the global batch's statistics in train mode (or local ones again). */
  synchronizeBatchNorm(model: Module, on: boolean): void;
  /** Element-wise sums over the ranks (in float64), e.g. the loss terms for the log. */
  allReduceNumbers(values: readonly number[]): number[];
  /** Every rank's value, in rank order, on every rank (JSON-serialisable values). */
  allGatherJson<T>(value: T): Promise<T[]>;
  close(): Promise<void>;
}

export interface ProcessGroupOptions {
  readonly rank: number;
  readonly worldSize: number;
  /** rank 0's address; every rank connects to its TCPStore there */
  readonly masterAddr: string;
  readonly masterPort: number;
  /** rendezvous and every collective fail after this long (torch's default: 30 min) */
  readonly timeoutSeconds: number;
  /** network interface Gloo uses (e.g. eth0); default: loopback when the master is local, else the host's address */
  readonly networkInterface?: string;
  /** 'auto' (the default): nccl when `device` is a GPU, gloo on the CPU */
  readonly backend?: DistributedBackend;
  /** the device this rank trains on, already resolved: 'cpu' (default), 'cuda' or 'cuda:N' */
  readonly device?: string;
}

export type DistributedBackend = 'auto' | 'gloo' | 'nccl';

/** distributed.backend for a rank on `device`: auto picks nccl for a GPU and gloo for the CPU (as torchrun's default). */
export function resolveBackend(backend: DistributedBackend, device: string): 'gloo' | 'nccl' {
  if (backend !== 'auto') return backend;
  return device.startsWith('cuda') ? 'nccl' : 'gloo';
}

/** The GPU index of 'cuda' / 'cuda:N'; null for the CPU. */
function cudaIndex(device: string): number | null {
  if (device === 'cuda') return 0;
  const m = /^cuda:(\d+)$/.exec(device);
  return m === null ? null : Number(m[1]);
}

/** Gradients are all-reduced in flat buckets of about this many bytes (DDP's default bucket_cap_mb = 25). */
const BUCKET_BYTES = 25 * 1024 * 1024;

/** Joins the group (waits for every rank); rank 0 serves the rendezvous store. */
export async function initProcessGroup(o: ProcessGroupOptions): Promise<C10dProcessGroup> {
  if (!Number.isInteger(o.worldSize) || o.worldSize < 1 || !Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) {
    throw new DistributedError(
      `rank ${o.rank} is not in 0…${o.worldSize - 1} (world size ${o.worldSize})`,
      'give every process a distinct --rank from 0 to --world-size − 1',
    );
  }
  const device = o.device ?? 'cpu';
  const backend = resolveBackend(o.backend ?? 'auto', device);
  const native = distributedNative();
  const gpu = cudaIndex(device);
  if (backend === 'nccl') {
    if (!native.pgBackends().includes('nccl')) {
      throw new DistributedError(
        'the nccl backend needs an addon built against a CUDA libtorch with NCCL, and this one has only gloo',
        'use distributed.backend = gloo (or auto), or rebuild the addon with LIBTORCH=python against a CUDA PyTorch (docs/gpu.md)',
      );
    }
    if (gpu === null) {
      throw new DistributedError(
        `the nccl backend runs on GPUs, and rank ${o.rank} trains on ${device}`,
        'set device to cuda (each rank of --nproc takes its own GPU), or use distributed.backend = gloo',
      );
    }
  }
  const where = `${o.masterAddr}:${o.masterPort}`;
  try {
    const id = await native.pgCreate(
      o.rank,
      o.worldSize,
      o.masterAddr,
      o.masterPort,
      Math.round(o.timeoutSeconds * 1000),
      o.networkInterface ?? '',
      backend,
      gpu ?? -1,
    );
    return new C10dProcessGroup(native, id, o.rank, o.worldSize);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new DistributedError(
      `rank ${o.rank} of ${o.worldSize} could not join the process group at ${where}: ${message}`,
      o.rank === 0
        ? 'rank 0 serves the rendezvous: pick a free --master-port, and start the other ranks within distributed.timeoutSeconds'
        : 'check --master-addr/--master-port (rank 0 must be running and reachable there) and that every rank has the same --world-size',
      { cause: err },
    );
  }
}

export class C10dProcessGroup implements ProcessGroup {
  #closed = false;

  constructor(
    private readonly native: DistributedNative,
    private readonly id: number,
    readonly rank: number,
    readonly worldSize: number,
  ) {}

  /** Runs a collective; a failure (peer gone, timeout) becomes a DistributedError naming it. */
  #collective<R>(what: string, fn: () => R): R {
    if (this.#closed) throw new DistributedError(`${what}: the process group is closed`, 'create a new group with initProcessGroup');
    try {
      return fn();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new DistributedError(
        `${what} failed on rank ${this.rank} of ${this.worldSize}: ${message}`,
        'another rank stopped (see its own error) or the network timed out (distributed.timeoutSeconds)',
        { cause: err },
      );
    }
  }

  /** Σ over the ranks, differentiable (its backward is again an all-reduce-sum). */
  allReduceSum(t: Tensor): Tensor {
    return this.#collective('all-reduce', () => Tensor.wrap(this.native.pgAllReduceDiff(this.id, t.handle)));
  }

  /** In place: Σ over the ranks of a contiguous tensor (no autograd). */
  allReduce(t: Tensor): void {
    this.#collective('all-reduce', () => this.native.pgAllReduce(this.id, t.handle));
  }

  allReduceNumbers(values: readonly number[]): number[] {
    return torch.tidy(() => {
      const t = torch.tensor(Float64Array.from(values), [values.length]);
      this.allReduce(t);
      return Array.from(t.toTypedArray() as Float64Array);
    });
  }

  /** In place, rank `root`'s values to every rank. */
  broadcast(t: Tensor, root = 0): void {
    this.#collective('broadcast', () => this.native.pgBroadcast(this.id, t.handle, root));
  }

  broadcastParameters(model: Module): void {
    for (const t of [...model.parameters(), ...model.buffers()]) this.broadcast(t);
  }

  allReduceGradients(model: Module): void {
    torch.tidy(() => {
      const grads = model
        .parameters()
        .map((p) => p.grad)
        .filter((g): g is Tensor => g !== null);
      for (const bucket of buckets(grads)) {
        const flat = torch.cat(bucket.map((g) => g.reshape(-1)));
        this.allReduce(flat);
        flat.div_(this.worldSize);
        let offset = 0;
        for (const g of bucket) {
          g.copy_(flat.narrow(0, offset, g.numel).view(g.shape));
          offset += g.numel;
        }
      }
      return null;
    });
  }

  synchronizeBatchNorm(model: Module, on: boolean): void {
    const sum = on ? (t: Tensor): Tensor => this.allReduceSum(t) : null;
    for (const [, m] of model.namedModules()) if (m instanceof BatchNorm2d) m.crossProcessSum = sum;
  }

  /** Every rank's bytes in rank order: lengths first, then the buffers padded to the longest. */
  allGatherBytes(bytes: Uint8Array): Uint8Array[] {
    return torch.tidy(() => {
      const lengths = this.#collective('all-gather', () => Tensor.wrap(this.native.pgAllGather(this.id, torch.tensor([bytes.length], [1], 'float64').handle)));
      const sizes = Array.from(lengths.toTypedArray() as Float64Array);
      const padded = new Uint8Array(Math.max(1, ...sizes));
      padded.set(bytes);
      const all = this.#collective('all-gather', () => Tensor.wrap(this.native.pgAllGather(this.id, torch.tensor(padded, [padded.length], 'uint8').handle)));
      const data = all.toTypedArray() as Uint8Array;
      return sizes.map((n, r) => data.slice(r * padded.length, r * padded.length + n));
    });
  }

  async allGatherJson<T>(value: T): Promise<T[]> {
    const decoder = new TextDecoder();
    return this.allGatherBytes(new TextEncoder().encode(JSON.stringify(value))).map((b) => JSON.parse(decoder.decode(b)) as T);
  }

  barrier(): void {
    this.#collective('barrier', () => this.native.pgBarrier(this.id));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.native.pgDestroy(this.id);
  }
}

/** Consecutive runs of tensors of about BUCKET_BYTES (float32 gradients), in parameter order. */
function buckets(grads: readonly Tensor[]): Tensor[][] {
  const out: Tensor[][] = [];
  let current: Tensor[] = [];
  let bytes = 0;
  for (const g of grads) {
    if (current.length > 0 && bytes + g.numel * 4 > BUCKET_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(g);
    bytes += g.numel * 4;
  }
  if (current.length > 0) out.push(current);
  return out;
}
