import { torch, type Tensor } from '../torch/index.js';
import { BatchNorm2d, Parameter, type Module } from '../nn/index.js';
import { ArgumentError } from '../errors.js';
import { DETFILL_OFFSET_BASIS, fnv1a32, unitValue } from './detfill.js';

/**
 * Deterministic weights, scheme `detfill-fanin-v1` (fixtures `baseline-parity/*`, its README
 * "Scheme detfill-fanin-v1"): every filled element is a closed-form function of its official
 * state-dict name and flat index, the same hash as `detfill-v1` (fnv1a32, fmix32, unitValue) with
 * fan-in-scaled values, so a parity test rebuilds an official baseline from its `keys.json` alone.
 */

export const DETFILL_FANIN_SCHEME = 'detfill-fanin-v1';

/** What a state-dict entry is under detfill-fanin-v1, which decides its value. */
export type FaninKind = 'bn_weight' | 'bn_bias' | 'bn_running_mean' | 'bn_running_var' | 'keep' | 'complex_weight' | 'weight_nd' | 'small';

/** One entry to fill: its official name, shape and kind; fanIn for `weight_nd` (numel / shape[0]). */
export interface FaninEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: FaninKind;
  readonly fanIn?: number;
}

const BN_LEAVES: Readonly<Record<string, FaninKind>> = {
  weight: 'bn_weight',
  bias: 'bn_bias',
  running_mean: 'bn_running_mean',
  running_var: 'bn_running_var',
};

/** numel / shape[0], the scheme's fan_in for every layout (ConvTranspose2d's [in, out, kh, kw] included). */
export function faninOf(shape: readonly number[]): number {
  if (shape.length < 2) throw new ArgumentError('shape', 'at least 2 dimensions for a fan-in', shape);
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/** The value of unit u ∈ [−1, 1) for a kind, in double in the README's order (the caller rounds once). */
function valueFormula(kind: FaninKind, name: string, fanIn: number | undefined): (u: number) => number {
  switch (kind) {
    case 'bn_weight':
    case 'bn_running_var':
      return (u) => 1 + 0.5 * u;
    case 'bn_bias':
    case 'bn_running_mean':
    case 'small':
      return (u) => 0.1 * u;
    case 'complex_weight':
      return (u) => u;
    case 'weight_nd': {
      if (fanIn === undefined || !Number.isInteger(fanIn) || fanIn < 1) throw new ArgumentError(`fanIn of ${name}`, 'a positive integer', fanIn);
      const bound = Math.sqrt(3 / fanIn);
      return (u) => u * bound;
    }
    case 'keep':
      throw new ArgumentError(`kind of ${name}`, 'a kind detfill-fanin-v1 fills', kind, "a 'keep' entry keeps the official constructor's value");
  }
}

/** The float32 values of elements `first` … `first + count − 1` of one entry, rounded once from double. */
export function faninValues(entry: FaninEntry, offsetBasis = DETFILL_OFFSET_BASIS, first = 0, count = entry.shape.reduce((a, b) => a * b, 1)): Float32Array {
  const out = new Float32Array(count);
  const h = fnv1a32(entry.name, offsetBasis);
  const value = valueFormula(entry.kind, entry.name, entry.fanIn);
  for (let i = 0; i < count; i++) out[i] = value(unitValue(first + i, h)); // Float32Array stores round to nearest, ties to even
  return out;
}

/** A module that is a BatchNorm (rule 1); nn has BatchNorm2d, ports may add BatchNorm1d under the PyTorch name. */
export function isBatchNorm(m: Module): boolean {
  return m instanceof BatchNorm2d || /^BatchNorm[123]d$/.test(m.constructor.name);
}

/**
 * The kind of every state-dict entry of `model`, by the scheme's rules in order: a BatchNorm's
 * weight/bias/running stats; `keep` for the names in `keep` (the fixture lists them: fixed
 * kernels, buffers), for integer entries and for parameters that do not require grad;
 * `complex_weight` by leaf; `weight_nd` for ndim ≥ 2; `small` otherwise. `keep` names absent from
 * the model throw, so a renamed fixed kernel cannot go unnoticed.
 */
export function faninEntries(model: Module, keep: ReadonlySet<string> = new Set()): FaninEntry[] {
  const bnPrefixes = new Set<string>();
  for (const [prefix, m] of model.namedModules()) if (isBatchNorm(m)) bnPrefixes.add(prefix);
  const state = model.stateDict();
  const absent = [...keep].filter((k) => !state.has(k));
  if (absent.length > 0) throw new ArgumentError('keep', "names of the model's state dict", absent.slice(0, 3).join(', '));
  const entries: FaninEntry[] = [];
  for (const [name, t] of state) {
    const dot = name.lastIndexOf('.');
    const [module, leaf] = dot < 0 ? ['', name] : [name.slice(0, dot), name.slice(dot + 1)];
    const shape = [...t.shape];
    const float = t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16' || t.dtype === 'bfloat16';
    const bnKind = bnPrefixes.has(module) ? BN_LEAVES[leaf] : undefined;
    if (bnKind !== undefined && float) entries.push({ name, shape, kind: bnKind });
    else if (keep.has(name) || !float || (t instanceof Parameter && !t.requiresGrad)) entries.push({ name, shape, kind: 'keep' });
    else if (leaf === 'complex_weight') entries.push({ name, shape, kind: 'complex_weight' });
    else if (shape.length >= 2) entries.push({ name, shape, kind: 'weight_nd', fanIn: faninOf(shape) });
    else entries.push({ name, shape, kind: 'small' });
  }
  return entries;
}

/**
 * Fills every entry of `model` but the `keep` ones with its detfill-fanin-v1 value (the names hashed
 * are the model's own state-dict names) and returns the entries with their kinds.
 */
export function applyDetfillFanin(model: Module, keep: ReadonlySet<string> = new Set(), offsetBasis = DETFILL_OFFSET_BASIS): FaninEntry[] {
  const entries = faninEntries(model, keep);
  const state = model.stateDict();
  torch.noGrad(() => {
    for (const entry of entries) {
      if (entry.kind === 'keep') continue;
      torch.tidy(() => {
        const target = state.get(entry.name)!;
        target.copy_(torch.fromTypedArray(faninValues(entry, offsetBasis), entry.shape));
      });
    }
  });
  return entries;
}

/** detfill-fanin-v1 tensors for entries given by name and kind (a checkpoint under another layout's names). */
export function faninStateDict(entries: readonly FaninEntry[], offsetBasis = DETFILL_OFFSET_BASIS): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const entry of entries) {
    if (entry.kind === 'keep') continue;
    out.set(
      entry.name,
      torch.tidy(() => torch.fromTypedArray(faninValues(entry, offsetBasis), entry.shape)),
    );
  }
  return out;
}
