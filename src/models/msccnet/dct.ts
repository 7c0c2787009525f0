import { torch, type Tensor } from '../../torch/index.js';
import { Buffer, Module } from '../../nn/index.js';

/**
 * Multi-spectral DCT filters (paper Eq. 6–8; official `multi_spectral.py`). Both variants are
 * fixed [C, S, S] basis images that multiply the features element-wise (the official code
 * drops Eq. 6's sum over (i, j), official-spec §12.2).
 */

/** One 1-D DCT-II basis value, evaluated left to right as the official `build_filter`. */
export function dctFilter(pos: number, freq: number, side: number): number {
  const result = Math.cos((Math.PI * freq * (pos + 0.5)) / side) / Math.sqrt(side);
  return freq === 0 ? result : result * Math.SQRT2;
}

/** The 2-D basis image for (u, v): rows use u, columns use v; products in double. */
function basisImage(u: number, v: number, side: number): Float64Array {
  const out = new Float64Array(side * side);
  for (let i = 0; i < side; i++) {
    const fu = dctFilter(i, u, side);
    for (let j = 0; j < side; j++) out[i * side + j] = fu * dctFilter(j, v, side);
  }
  return out;
}

/** Fills `channels` consecutive planes of `out` from `first`, rounding once to float32. */
function writePlanes(out: Float32Array, first: number, channels: number, image: Float64Array): void {
  const plane = image.length;
  for (let ch = first; ch < first + channels; ch++) {
    for (let p = 0; p < plane; p++) out[ch * plane + p] = image[p];
  }
}

/**
 * The official buffer `mscc.frequency.weight` [C, S, S]: the 64 pairs (u, v) of an 8×8 grid,
 * u outer, each on C/64 consecutive channels (u = ⌊ch/64⌋, v = ⌊ch/8⌋ mod 8 for C = 512).
 * The layer is built with its default k = 8 whatever the group count (official-spec §5.1);
 * channels beyond 64·⌊C/64⌋ stay 0, as in the official code.
 */
export function officialDctWeight(channels: number, side: number): Float32Array {
  const out = new Float32Array(channels * side * side);
  const perPair = Math.floor(channels / 64);
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) writePlanes(out, (u * 8 + v) * perPair, perPair, basisImage(u, v, side));
  }
  return out;
}

/**
 * The paper's variant: N = groups bases (u, v) of the first √N×√N grid, in the paper's order
 * (0,0), (0,1), (1,0), (1,1), …, one per channel group of C/N channels.
 */
export function paperDctWeight(channels: number, side: number, groups: number): Float32Array {
  const out = new Float32Array(channels * side * side);
  const k = Math.round(Math.sqrt(groups));
  const perGroup = channels / groups;
  for (let g = 0; g < groups; g++) writePlanes(out, g * perGroup, perGroup, basisImage(Math.floor(g / k), g % k, side));
  return out;
}

/** Which basis assignment a DCT layer uses (config field `dct`). */
export type DctBases = 'official' | 'paper';

/**
 * The official `MultiSpectralDCTLayer`: a fixed, non-trainable buffer `weight` [C, S, S]
 * (saved in the state dict) that multiplies the features element-wise (Eq. 6 without the sum).
 */
export class MultiSpectralDCTLayer extends Module {
  readonly weight: Buffer;
  constructor(
    readonly channels: number,
    readonly side: number,
    readonly bases: DctBases,
    groups: number,
  ) {
    super();
    const values = bases === 'official' ? officialDctWeight(channels, side) : paperDctWeight(channels, side, groups);
    this.weight = torch.tidy(() => new Buffer(torch.fromTypedArray(values, [channels, side, side])));
  }
  /** x [B, C, S, S] → x ⊙ weight. */
  forward(x: Tensor): Tensor {
    return x.mul(this.weight);
  }
}
