import { torch, type Tensor } from '../torch/index.js';
import { BatchNorm2d, Conv2d, Linear, type Module } from '../nn/index.js';
import { MSCC } from './msccnet/mscc.js';
import { MultiSpectralDCTLayer } from './msccnet/dct.js';
import { BasicBlock, Bottleneck } from './backbones/resnet.js';
import { ArgumentError } from '../errors.js';

/**
 * Deterministic weights, scheme `detfill-v1` (fixtures `msccnet-128*`, README §2): every element
 * is a closed-form function of its state-dict name and flat index, so parity tests and
 * `msccnet model --check-detfill` rebuild the reference network without a weight file.
 */

/** FNV-1a 32-bit offset basis of the fixtures; any other basis gives another weight set. */
export const DETFILL_OFFSET_BASIS = 2166136261;

/** What a state-dict entry is, which decides its fill formula. */
export type DetfillKind =
  | 'conv_weight'
  | 'conv_bias'
  | 'linear_weight'
  | 'linear_bias'
  | 'bn_weight'
  | 'bn_bias'
  | 'bn_running_mean'
  | 'bn_running_var'
  | 'bn_num_batches_tracked'
  | 'dct_buffer';

/** How to fill one tensor: its kind, and for weights fan_in and the extra scale s. */
export interface DetfillSpec {
  readonly kind: DetfillKind;
  readonly fanIn?: number;
  readonly scale?: number;
}

/** FNV-1a-32 over the UTF-8 bytes of `name`, from `offsetBasis`. */
export function fnv1a32(name: string, offsetBasis = DETFILL_OFFSET_BASIS): number {
  let h = offsetBasis >>> 0;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

/** MurmurHash3's 32-bit finaliser. */
export function fmix32(k0: number): number {
  let k = k0 >>> 0;
  k = (k ^ (k >>> 16)) >>> 0;
  k = Math.imul(k, 0x85ebca6b) >>> 0;
  k = (k ^ (k >>> 13)) >>> 0;
  k = Math.imul(k, 0xc2b2ae35) >>> 0;
  return (k ^ (k >>> 16)) >>> 0;
}

/** k0 = (i·2654435761 + h) mod 2^32: Math.imul keeps the product exact modulo 2^32. */
export function rawIndexHash(i: number, h: number): number {
  return (Math.imul(i, 2654435761) + h) >>> 0;
}

/** u = 2·k/2^32 − 1 ∈ [−1, 1), exact in double. */
export function unitValue(i: number, h: number): number {
  return 2 * (fmix32(rawIndexHash(i, h)) / 4294967296) - 1;
}

/**
 * The float32 values of elements `first` … `first + count − 1` of one tensor: computed in double
 * in the README's order, rounded once. `dct_buffer` is not filled by the scheme (the official
 * formula applies) and throws.
 */
export function detfillValues(name: string, count: number, spec: DetfillSpec, offsetBasis = DETFILL_OFFSET_BASIS, first = 0): Float32Array {
  const out = new Float32Array(count);
  const h = fnv1a32(name, offsetBasis);
  const value = valueFormula(name, spec);
  for (let i = 0; i < count; i++) out[i] = value(unitValue(first + i, h));
  return out;
}

function valueFormula(name: string, spec: DetfillSpec): (u: number) => number {
  switch (spec.kind) {
    case 'conv_weight':
    case 'linear_weight': {
      if (spec.fanIn === undefined || spec.scale === undefined) throw new ArgumentError(`spec of ${name}`, 'fanIn and scale for a weight', spec);
      const bound = Math.sqrt(6 / spec.fanIn);
      const s = spec.scale;
      return (u) => u * bound * s;
    }
    case 'conv_bias':
    case 'linear_bias':
      return (u) => 0.01 * u;
    case 'bn_weight':
      return (u) => 1 + 0.1 * u;
    case 'bn_bias':
    case 'bn_running_mean':
      return (u) => 0.1 * u;
    case 'bn_running_var':
      return (u) => 1 + 0.25 * (u + 1);
    case 'bn_num_batches_tracked':
      return () => 0;
    case 'dct_buffer':
      throw new ArgumentError(`spec of ${name}`, 'a kind detfill-v1 fills', spec.kind, 'the DCT buffer keeps its official formula');
  }
}

/**
 * The scheme's deterministic input (already normalised), [B, 3, side, side]:
 * x[n,c,y,x'] = float32(sin(((0.05·(y+1))·(c+1)) + (0.3·n)) · cos(0.07·(x'+1))).
 */
export function detfillInput(batch: number, side: number): Float32Array {
  const out = new Float32Array(batch * 3 * side * side);
  let o = 0;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < side; y++) {
        const s = Math.sin(0.05 * (y + 1) * (c + 1) + 0.3 * n);
        for (let x = 0; x < side; x++) out[o++] = s * Math.cos(0.07 * (x + 1));
      }
    }
  }
  return out;
}

/**
 * The fill spec of every state-dict entry of `model`, derived from its module structure:
 * Conv2d/Linear/BatchNorm2d by type, fan_in from the weight shape, and the scheme's scales —
 * ½ on the last conv of every residual block, S on the MSCC `decoder_map.0`, 32/S² on the GCN
 * linear (so that activations keep O(1) magnitudes, fixture README §2).
 */
export function detfillSpecs(model: Module): Map<string, DetfillSpec> {
  const scales = new Map<Module, number>();
  for (const [, m] of model.namedModules()) {
    if (m instanceof BasicBlock || m instanceof Bottleneck) scales.set(m.lastConv, 0.5);
    if (m instanceof MSCC) {
      const S = m.spectralSide;
      scales.set(m.decoder_map.at(0), S);
      if (m.gcn !== null) scales.set(m.gcn.conv2, 32 / (S * S));
    }
  }
  const specs = new Map<string, DetfillSpec>();
  for (const [prefix, m] of model.namedModules()) {
    const at = (leaf: string): string => (prefix === '' ? leaf : `${prefix}.${leaf}`);
    if (m instanceof Conv2d || m instanceof Linear) {
      const isConv = m instanceof Conv2d;
      const fanIn = m.weight.shape.slice(1).reduce((a, b) => a * b, 1);
      specs.set(at('weight'), { kind: isConv ? 'conv_weight' : 'linear_weight', fanIn, scale: scales.get(m) ?? 1 });
      if (m.bias !== null) specs.set(at('bias'), { kind: isConv ? 'conv_bias' : 'linear_bias' });
    } else if (m instanceof BatchNorm2d) {
      for (const leaf of ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'] as const) {
        specs.set(at(leaf), { kind: `bn_${leaf}` });
      }
    } else if (m instanceof MultiSpectralDCTLayer) {
      specs.set(at('weight'), { kind: 'dct_buffer' });
    }
  }
  return specs;
}

/**
 * Replaces every parameter and BN buffer of `model` by its detfill-v1 value (the DCT buffer
 * keeps its official formula), through a strict state-dict load.
 */
export function applyDetfill(model: Module, offsetBasis = DETFILL_OFFSET_BASIS): void {
  const specs = detfillSpecs(model);
  torch.tidy(() => {
    const filled = new Map<string, Tensor>();
    for (const [name, current] of model.stateDict()) {
      const spec = specs.get(name);
      if (spec === undefined)
        throw new ArgumentError('model', 'Conv2d, Linear, BatchNorm2d and DCT-layer entries only', name, 'detfill-v1 covers the MSCCNet/ResNet modules');
      if (spec.kind === 'dct_buffer') filled.set(name, current);
      else if (spec.kind === 'bn_num_batches_tracked') filled.set(name, torch.zeros(current.shape, { dtype: 'int64' }));
      else filled.set(name, torch.fromTypedArray(detfillValues(name, current.numel, spec, offsetBasis), current.shape));
    }
    model.loadStateDict(filled, { strict: true });
  });
}
