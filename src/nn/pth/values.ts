import type { TypedArrayOf, DType } from '../../torch/tensor.js';
import type { PyValue } from './pickle.js';
import { PthTensor } from './tensor.js';

/** A leaf of a checkpoint: a tensor or a plain value (None, bool, number, string, bytes). */
export type PthLeaf = PthTensor | null | boolean | number | bigint | string | Uint8Array;

/**
 * Every leaf of a checkpoint by its path: dict keys and list/tuple indices joined by `/`
 * (`model/backbone_net.stem.0.weight`, `nested/list/0`). A container the pickle shares (one
 * object reached through several paths) is listed once, under its first path: listing every
 * path of a shared 40-level DAG would take 2^40 entries. Iterative, in depth-first order.
 */
export function flattenPth(root: PyValue, prefix = ''): Map<string, PthLeaf> {
  const out = new Map<string, PthLeaf>();
  const seen = new Set<object>();
  const pending: [PyValue, string][] = [[root, prefix]];
  while (pending.length > 0) {
    const [value, path] = pending.pop()!;
    const join = (k: string) => (path === '' ? k : `${path}/${k}`);
    if (value instanceof Map || Array.isArray(value)) {
      if (seen.has(value)) continue;
      seen.add(value);
      const children: [PyValue, string][] =
        value instanceof Map ? [...value].map(([k, v]) => [v, join(String(k))]) : value.map((v: PyValue, i: number) => [v, join(String(i))]);
      for (let i = children.length - 1; i >= 0; i--) pending.push(children[i]); // reversed: popped in order
    } else if (value instanceof PthTensor || value === null || value instanceof Uint8Array || typeof value !== 'object') out.set(path, value);
  }
  return out;
}

/** half-precision bits → number */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A tensor's logical elements as float64 (16-bit floats decoded, int64 converted), for statistics and tests. */
export function pthToFloat64(t: PthTensor): Float64Array {
  const data = t.data();
  const dtype: DType = t.dtype;
  if (dtype === 'float16') return Float64Array.from(data as TypedArrayOf['float16'], halfToNumber);
  if (dtype === 'bfloat16') {
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    return Float64Array.from(data as TypedArrayOf['bfloat16'], (b) => {
      bits[0] = b << 16;
      return f[0];
    });
  }
  if (dtype === 'int64') return Float64Array.from(data as TypedArrayOf['int64'], (v) => Number(v));
  return Float64Array.from(data as ArrayLike<number>);
}
