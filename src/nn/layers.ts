/** Layers with PyTorch's constructor arguments, field names (= state-dict keys) and initialisation. */
import { ArgumentError } from '../errors.js';
import * as F from '../torch/functional.js';
import type { Pair } from '../torch/functional.js';
import { torch } from '../torch/torch.js';
import type { Tensor } from '../torch/tensor.js';
import { fanInFanOut, kaimingUniform_ } from './init.js';
import { Module } from './module.js';
import { Buffer, Parameter } from './parameter.js';

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw new ArgumentError(name, 'a positive integer', v);
  return v;
}
function pairOf(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/**
 * A new parameter filled by init (which draws from libtorch's generator). Built with no
 * autograd and outside any tidy() scope's reach, since the module owns it.
 */
function param(shape: number[], init: (t: Tensor) => void): Parameter {
  return torch.tidy(() =>
    torch.noGrad(() => {
      const t = torch.empty(shape);
      init(t);
      return new Parameter(t);
    }),
  );
}

/** U(−1/√fan_in, 1/√fan_in), PyTorch's default bias of Conv and Linear. */
function biasInit(weight: Parameter): (t: Tensor) => void {
  const bound = 1 / Math.sqrt(fanInFanOut(weight)[0]);
  return (t) => t.uniform_(-bound, bound);
}

/** The geometry Conv2d and ConvTranspose2d share: kernel, stride, padding, dilation, checked groups. */
function convGeometry(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dOptions) {
  const groups = positiveInt(opts.groups ?? 1, 'groups');
  if (inChannels % groups || outChannels % groups) {
    throw new ArgumentError('groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, groups);
  }
  const [kh, kw] = pairOf(kernelSize);
  return { groups, kh, kw, stride: pairOf(opts.stride ?? 1), padding: pairOf(opts.padding ?? 0), dilation: pairOf(opts.dilation ?? 1) };
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}
/** nn.Conv2d: weight [out, in/groups, kh, kw] (kaiming_uniform a=√5), bias [out] or null. */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: Conv2dOptions = {},
  ) {
    super();
    const { groups, kh, kw, stride, padding, dilation } = convGeometry(inChannels, outChannels, kernelSize, opts);
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.groups = groups;
    this.weight = param([outChannels, inChannels / groups, kh, kw], (t) => kaimingUniform_(t, { a: Math.sqrt(5) }));
    this.bias = (opts.bias ?? true) ? param([outChannels], biasInit(this.weight)) : null;
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  bias?: boolean;
  dilation?: Pair;
}
/** nn.ConvTranspose2d: weight [in, out/groups, kh, kw] (kaiming_uniform a=√5 over it, as PyTorch), bias [out] or null. */
export class ConvTranspose2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: ConvTranspose2dOptions = {},
  ) {
    super();
    const { groups, kh, kw, stride, padding, dilation } = convGeometry(inChannels, outChannels, kernelSize, opts);
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.groups = groups;
    this.outputPadding = pairOf(opts.outputPadding ?? 0);
    this.weight = param([inChannels, outChannels / groups, kh, kw], (t) => kaimingUniform_(t, { a: Math.sqrt(5) }));
    this.bias = (opts.bias ?? true) ? param([outChannels], biasInit(this.weight)) : null;
  }
  forward(x: Tensor): Tensor {
    return F.convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      groups: this.groups,
      dilation: this.dilation,
    });
  }
}

/** nn.Linear: weight [out, in] (kaiming_uniform a=√5), bias [out] or null. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    this.weight = param([positiveInt(outFeatures, 'outFeatures'), positiveInt(inFeatures, 'inFeatures')], (t) => kaimingUniform_(t, { a: Math.sqrt(5) }));
    this.bias = (opts.bias ?? true) ? param([outFeatures], biasInit(this.weight)) : null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** Σ of a tensor over the processes of a data-parallel group, differentiable (its backward sums the gradients too). */
export type CrossProcessSum = (t: Tensor) => Tensor;

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}
/**
 * nn.BatchNorm2d: weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked (int64).
 * Train mode normalises with batch statistics and updates the running ones; eval uses the running ones.
 * With `crossProcessSum` set it is nn.SyncBatchNorm in train mode: the statistics are the global batch's.
 */
export class BatchNorm2d extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly running_mean: Buffer | null;
  readonly running_var: Buffer | null;
  readonly num_batches_tracked: Buffer | null;
  readonly eps: number;
  /** the running statistics' update factor (not readonly: precise BN sets it to 1 for its pass) */
  momentum: number;
  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    positiveInt(numFeatures, 'numFeatures');
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    const track = opts.trackRunningStats ?? true;
    this.weight = affine ? param([numFeatures], (t) => t.fill_(1)) : null;
    this.bias = affine ? param([numFeatures], (t) => t.fill_(0)) : null;
    [this.running_mean, this.running_var, this.num_batches_tracked] = track
      ? torch.tidy(() => [new Buffer(torch.zeros([numFeatures])), new Buffer(torch.ones([numFeatures])), new Buffer(torch.zeros([], { dtype: 'int64' }))])
      : [null, null, null];
  }
  /** Set by a data-parallel group to synchronise the batch statistics (not part of the state dict). */
  crossProcessSum: CrossProcessSum | null = null;
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new ArgumentError('input', 'a 4-D tensor (N, C, H, W)', x.shape);
    const useBatchStats = this.training || this.running_mean === null;
    if (this.training && this.num_batches_tracked) torch.noGrad(() => this.num_batches_tracked!.add_(1));
    if (this.training && this.crossProcessSum !== null) return this.syncForward(x, this.crossProcessSum);
    return F.batchNorm(x, this.running_mean, this.running_var, this.weight, this.bias, useBatchStats, this.momentum, this.eps);
  }

  /**
   * SyncBatchNorm's training forward written with differentiable ops, so autograd gives its
   * backward: the global mean from all-reduced sums and counts, then the global biased variance
   * from all-reduced squared deviations (two passes, as exact as one process's kernel); the
   * running variance takes the unbiased one, as torch.nn.SyncBatchNorm does.
   */
  private syncForward(x: Tensor, sum: CrossProcessSum): Tensor {
    const [N, C, H, W] = x.shape;
    return torch.tidy(() => {
      // the count stays a device tensor: no host read per layer (one would stall a GPU at every BatchNorm)
      const sums = sum(torch.cat([x.sum([0, 2, 3]), torch.full([1], N * H * W, { dtype: x.dtype, device: x.device })]));
      const count = sums.narrow(0, C, 1).detach();
      const mean = sums.narrow(0, 0, C).div(count);
      const centred = x.sub(mean.view(1, C, 1, 1));
      const variance = sum(centred.mul(centred).sum([0, 2, 3])).div(count);
      let out = centred.div(variance.add(this.eps).sqrt().view(1, C, 1, 1));
      if (this.weight !== null && this.bias !== null) out = out.mul(this.weight.view(1, C, 1, 1)).add(this.bias.view(1, C, 1, 1));
      if (this.running_mean !== null && this.running_var !== null) {
        const m = this.momentum;
        torch.noGrad(() => {
          this.running_mean!.mul_(1 - m).add_(mean, m);
          this.running_var!.mul_(1 - m).add_(variance.mul(count.div(count.sub(1).clamp(1))), m);
        });
      }
      return out;
    });
  }
}

/**
 * nn.BatchNorm1d on [N, C] input: BatchNorm2d's state and statistics over an [N, C, 1, 1] view.
 * Train mode refuses N = 1 as PyTorch does (one value per channel has no variance).
 */
export class BatchNorm1d extends BatchNorm2d {
  override forward(x: Tensor): Tensor {
    if (x.ndim !== 2) throw new ArgumentError('input', 'a 2-D tensor (N, C)', x.shape);
    if (this.training && x.shape[0] < 2) throw new ArgumentError('input', 'more than one value per channel in train mode (batch ≥ 2)', x.shape);
    const [n, c] = x.shape;
    return super.forward(x.reshape(n, c, 1, 1)).reshape(n, c);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** nn.LeakyReLU(negative_slope). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.leakyRelu(x, this.negativeSlope);
  }
}

/** nn.Dropout2d: zeroes whole channels with probability p in train mode. */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.dropout2d(x, this.p, this.training);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

export interface MaxPool2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly opts: MaxPool2dOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, { kernelSize: this.kernelSize, ...this.opts });
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}
