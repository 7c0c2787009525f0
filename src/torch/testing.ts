/**
 * The device-checking backend: proves a program's device discipline on a machine without a GPU.
 * It wraps a real backend (the libtorch addon) and tags every tensor with a logical device,
 * 'cpu' or a pretend 'cuda:0' whose tensors are computed on the CPU, so numbers equal a CPU
 * run's. It throws a DeviceDisciplineError exactly where libtorch on a GPU would refuse:
 *   - an op whose tensor arguments live on different devices (0-d CPU tensors excepted: libtorch
 *     takes them as scalars; `copy_` may cross devices);
 *   - a host read (`toBuffer`, `item`) of a device tensor: its values reach the CPU only
 *     through an explicit `to('cpu')`, which is counted, so a test can bound the host copies per
 *     training step. (libtorch would do that copy silently, and a GPU would stall on each.)
 * It lives in src/ (not test/) so that anyone adding a model or a training feature can run it
 * under this backend in their own tests, and so that it is type-checked against `Backend`.
 */
import type { Backend, Handle } from './backend.js';
import { DeviceDisciplineError } from './errors.js';

/** The pretend GPU. */
export const PRETEND_CUDA = 'cuda:0';

export interface TransferCounts {
  /** device → host copies (`to('cpu')` of a device tensor, copy_ into a CPU tensor) */
  deviceToHost: number;
  /** host → device copies */
  hostToDevice: number;
  /** host → device copies that were not non_blocking from pinned memory */
  blockingHostToDevice: number;
}

export interface DeviceCheckingBackend {
  readonly backend: Backend;
  readonly counts: TransferCounts;
  /** Sets every count to zero. */
  resetCounts(): void;
  /** The logical device of a handle. */
  deviceOf(h: Handle): string;
}

type Fn = (...args: unknown[]) => unknown;

function isHandle(v: unknown): v is Handle {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer);
}

/** A libtorch device string normalised as a tensor reports it ('cuda' is the current GPU, cuda:0). */
function normalise(op: string, device: string): string {
  if (device === 'cpu') return 'cpu';
  if (device === 'cuda' || device === PRETEND_CUDA) return PRETEND_CUDA;
  throw new DeviceDisciplineError(
    op,
    `device '${device}' does not exist (the pretend machine has cpu and ${PRETEND_CUDA}: CUDA error: invalid device ordinal)`,
  );
}

const CREATION = new Set(['full', 'empty', 'randn', 'rand', 'randint', 'arange']);
/** Bookkeeping that reads no values and makes no tensor (and may see a disposed handle). */
const PASS = new Set(['dispose', 'isDisposed', 'shape', 'dtype', 'numel', 'isContiguous', 'isContiguousIn', 'requiresGrad', 'setRequiresGrad', 'isLeaf']);

/** Wraps `inner` (the addon's backend) with device tags and checks. */
export function deviceCheckingBackend(inner: Backend): DeviceCheckingBackend {
  const tags = new WeakMap<object, string>();
  const pinned = new WeakSet<object>();
  const counts: TransferCounts = { deviceToHost: 0, hostToDevice: 0, blockingHostToDevice: 0 };
  const deviceOf = (h: Handle): string => tags.get(h) ?? 'cpu';
  const tag = <T>(result: T, device: string): T => {
    if (isHandle(result)) tags.set(result, device);
    else if (Array.isArray(result)) for (const r of result) if (isHandle(r)) tags.set(r, device);
    return result;
  };
  /** The one device of an op's tensor arguments (0-d CPU tensors go with any), or throws as libtorch does. */
  const common = (op: string, args: readonly unknown[]): string => {
    const handles = args.flatMap((a) => (Array.isArray(a) ? a.filter(isHandle) : isHandle(a) ? [a] : []));
    const full = new Set<string>();
    const scalars = new Set<string>();
    for (const h of handles) {
      const d = deviceOf(h);
      if (d === 'cpu' && inner.shape(h).length === 0) scalars.add(d);
      else full.add(d);
    }
    if (full.size > 1) {
      throw new DeviceDisciplineError(op, `Expected all tensors to be on the same device, but found at least two devices, ${[...full].join(' and ')}!`);
    }
    return [...full][0] ?? [...scalars][0] ?? 'cpu';
  };
  const move = (from: string, to: string, nonBlocking: boolean, source: Handle): void => {
    if (from !== 'cpu' && to === 'cpu') counts.deviceToHost++;
    if (from === 'cpu' && to !== 'cpu') {
      counts.hostToDevice++;
      if (!nonBlocking || !pinned.has(source)) counts.blockingHostToDevice++;
    }
  };
  const hostRead = (op: string, h: Handle): void => {
    const d = deviceOf(h);
    if (d !== 'cpu') throw new DeviceDisciplineError(op, `host read of a ${d} tensor; copy it once with to('cpu') and read that`);
  };

  const overrides: Partial<Record<keyof Backend, Fn>> = {
    device: (h) => deviceOf(h as Handle),
    toBuffer: (h) => {
      hostRead('toBuffer', h as Handle);
      return inner.toBuffer(h as Handle);
    },
    item: (h) => {
      hostRead('item', h as Handle);
      return inner.item(h as Handle);
    },
    toDevice: (h, device) => {
      const to = normalise('to', device as string);
      move(deviceOf(h as Handle), to, false, h as Handle);
      return tag(inner.toDevice(h as Handle, 'cpu'), to);
    },
    toWith: (h, device, dtype, nonBlocking, copy) => {
      const from = deviceOf(h as Handle);
      const to = device === null ? from : normalise('to', device as string);
      move(from, to, nonBlocking as boolean, h as Handle);
      return tag(inner.toWith(h as Handle, null, dtype as string | null, nonBlocking as boolean, copy as boolean), to);
    },
    pinMemory: (h) => {
      const d = deviceOf(h as Handle);
      if (d !== 'cpu') throw new DeviceDisciplineError('pinMemory', `cannot pin '${d}' memory: only CPU tensors can be pinned`);
      const copy = inner.toWith(h as Handle, null, null, false, true);
      pinned.add(copy as object);
      return tag(copy, 'cpu');
    },
    isPinned: (h) => pinned.has(h as object),
    inplace: (op, h, other, alpha) => {
      if (op === 'copy' && isHandle(other)) {
        move(deviceOf(other), deviceOf(h as Handle), false, other);
        return inner.inplace('copy', h as Handle, other, alpha as number | undefined);
      }
      common(`${String(op)}_`, [h, other]);
      return inner.inplace(op as never, h as Handle, other as Handle | number | undefined, alpha as number | undefined);
    },
    cudaIsAvailable: () => true,
    cudaDeviceCount: () => 1,
    cudaSynchronize: () => undefined,
    // the pretend GPU computes on the CPU, so its autocast is the CPU's (bfloat16 only)
    autocastEnter: (_type, enabled, dtype) => inner.autocastEnter('cpu', enabled as boolean, dtype as string),
    autocastExit: (_type, enabled, dtype) => inner.autocastExit('cpu', enabled as boolean, dtype as string),
    isAutocastEnabled: () => inner.isAutocastEnabled('cpu'),
  };

  const wrapped = new Proxy(inner, {
    get(target, key) {
      const own = overrides[key as keyof Backend];
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== 'function' || PASS.has(String(key))) return value;
      const f = value as Fn;
      const name = String(key);
      if (CREATION.has(name)) {
        return (...args: unknown[]) => {
          const device = normalise(name, args[args.length - 1] as string);
          return tag(f.apply(target, [...args.slice(0, -1), 'cpu']), device);
        };
      }
      return (...args: unknown[]) => {
        const device = common(name, args);
        return tag(f.apply(target, args), device);
      };
    },
  });
  return {
    backend: wrapped,
    counts,
    resetCounts: () => {
      counts.deviceToHost = 0;
      counts.hostToDevice = 0;
      counts.blockingHostToDevice = 0;
    },
    deviceOf,
  };
}
