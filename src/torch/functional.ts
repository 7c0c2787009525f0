/** Functional ops (`torch.nn.functional`, imported as `F`), PyTorch's argument names in camelCase. */
import { ArgumentError } from '../errors.js';
import { backend } from './backend.js';
import { Tensor } from './tensor.js';

/** An int or an [h, w] pair, as PyTorch's `_pair`. */
export type Pair = number | readonly [number, number];
function pair(v: Pair, name: string): [number, number] {
  const p: readonly number[] = typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every(Number.isInteger)) throw new ArgumentError(name, 'an integer or an [h, w] pair of integers', v);
  return [p[0], p[1]];
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  return Tensor.wrap(
    backend().conv2d(
      x.handle,
      weight.handle,
      bias?.handle ?? null,
      pair(opts.stride ?? 1, 'stride'),
      pair(opts.padding ?? 0, 'padding'),
      pair(opts.dilation ?? 1, 'dilation'),
      opts.groups ?? 1,
    ),
  );
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  dilation?: Pair;
}
/** F.conv_transpose2d: weight [in, out/groups, kh, kw]; out = (in − 1)·s − 2p + d·(k − 1) + outputPadding + 1. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvTranspose2dOptions = {}): Tensor {
  return Tensor.wrap(
    backend().convTranspose2d(
      x.handle,
      weight.handle,
      bias?.handle ?? null,
      pair(opts.stride ?? 1, 'stride'),
      pair(opts.padding ?? 0, 'padding'),
      pair(opts.outputPadding ?? 0, 'outputPadding'),
      opts.groups ?? 1,
      pair(opts.dilation ?? 1, 'dilation'),
    ),
  );
}

/**
 * F.batch_norm. In training mode the batch statistics normalise x and the running statistics
 * (when given) are updated in place: running = (1 − momentum)·running + momentum·batch, with the
 * unbiased batch variance, exactly as PyTorch.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  training = false,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  return Tensor.wrap(
    backend().batchNorm(
      x.handle,
      runningMean?.handle ?? null,
      runningVar?.handle ?? null,
      weight?.handle ?? null,
      bias?.handle ?? null,
      training,
      momentum,
      eps,
    ),
  );
}

export const relu = (x: Tensor): Tensor => x.relu();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const softmax = (x: Tensor, dim: number): Tensor => x.softmax(dim);
export const logSoftmax = (x: Tensor, dim: number): Tensor => x.logSoftmax(dim);

export interface MaxPool2dOptions {
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}
/** F.max_pool2d; stride defaults to kernelSize. */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  const k = pair(opts.kernelSize, 'kernelSize');
  return Tensor.wrap(
    backend().maxPool2d(
      x.handle,
      k,
      pair(opts.stride ?? k, 'stride'),
      pair(opts.padding ?? 0, 'padding'),
      pair(opts.dilation ?? 1, 'dilation'),
      opts.ceilMode ?? false,
    ),
  );
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const k = pair(opts.kernelSize, 'kernelSize');
  return Tensor.wrap(
    backend().avgPool2d(
      x.handle,
      k,
      pair(opts.stride ?? k, 'stride'),
      pair(opts.padding ?? 0, 'padding'),
      opts.ceilMode ?? false,
      opts.countIncludePad ?? true,
    ),
  );
}

/**
 * F.pad with a constant (mode 'constant'): `pad` = (left, right, top, bottom, …), pairs from the
 * last dim backwards, each ≥ 0 (TF "same" padding is asymmetric: nn.ZeroPad2d).
 */
export function pad(x: Tensor, amounts: readonly number[], value = 0): Tensor {
  if (amounts.length % 2 !== 0 || amounts.length / 2 > x.ndim || !amounts.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new ArgumentError('pad', `an even number (≤ ${2 * x.ndim}) of non-negative integers`, amounts);
  }
  return Tensor.wrap(backend().constantPadNd(x.handle, amounts, value));
}

/** F.leaky_relu: x where x > 0, else slope·x (as `where`, so it traces to ONNX without a new op). */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return Tensor.wrap(backend().where(x.gt(0).handle, x.handle, x.mul(negativeSlope).handle));
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return Tensor.wrap(backend().adaptiveAvgPool2d(x.handle, pair(outputSize, 'outputSize')));
}

/** y = x·Wᵀ + b over the last dim. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return Tensor.wrap(backend().linear(x.handle, weight.handle, bias?.handle ?? null));
}

export interface InterpolateOptions {
  /** Output [h, w] (or one side for both). Give this or scaleFactor. */
  size?: Pair;
  /** Output = floor(input × scale); the scale also enters the coordinate mapping, as in PyTorch. */
  scaleFactor?: number | readonly [number, number];
  mode?: 'bilinear' | 'nearest';
  /** Bilinear only (PyTorch requires it unset for nearest); default false. */
  alignCorners?: boolean;
}
/** F.interpolate for 4-D input (N, C, H, W). */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const mode = opts.mode ?? 'nearest';
  if (mode !== 'bilinear' && mode !== 'nearest') throw new ArgumentError('mode', "'bilinear' or 'nearest'", mode);
  if (mode === 'nearest' && opts.alignCorners !== undefined) {
    throw new ArgumentError('alignCorners', 'unset for mode nearest', opts.alignCorners, 'alignCorners only applies to bilinear');
  }
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) {
    throw new ArgumentError('interpolate options', 'exactly one of size and scaleFactor', opts);
  }
  const [, , h, w] = x.shape;
  let size: [number, number];
  let scales: [number | null, number | null] = [null, null];
  if (opts.size !== undefined) {
    size = pair(opts.size, 'size');
  } else {
    const s = typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor!;
    size = [Math.floor(h * s[0]), Math.floor(w * s[1])];
    scales = [s[0], s[1]];
  }
  return Tensor.wrap(backend().upsample(x.handle, mode, size, opts.alignCorners ?? false, scales[0], scales[1]));
}

export type Reduction = 'none' | 'mean' | 'sum';
const reductionCode: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };
function reduction(r: Reduction | undefined): number {
  const code = reductionCode[r ?? 'mean'];
  if (code === undefined) throw new ArgumentError('reduction', "'none', 'mean' or 'sum'", r);
  return code;
}

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped and do not count in the mean; default -100. */
  ignoreIndex?: number;
  reduction?: Reduction;
  /** Per-class weights [C]. */
  weight?: Tensor | null;
  labelSmoothing?: number;
}
/**
 * F.cross_entropy: logits [N, C] or [N, C, d1, …] against int64 class targets [N] / [N, d1, …].
 * 'mean' divides by the number of non-ignored targets (weighted), as PyTorch.
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  return Tensor.wrap(
    backend().crossEntropy(
      logits.handle,
      target.handle,
      opts.weight?.handle ?? null,
      reduction(opts.reduction),
      opts.ignoreIndex ?? -100,
      opts.labelSmoothing ?? 0,
    ),
  );
}

export interface BceOptions {
  weight?: Tensor | null;
  posWeight?: Tensor | null;
  reduction?: Reduction;
}
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, opts: BceOptions = {}): Tensor {
  return Tensor.wrap(
    backend().binaryCrossEntropyWithLogits(
      logits.handle,
      target.handle,
      opts.weight?.handle ?? null,
      opts.posWeight?.handle ?? null,
      reduction(opts.reduction),
    ),
  );
}

function checkP(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new ArgumentError('p', 'a probability in [0, 1]', p);
  return p;
}
/** Zeroes elements with probability p and scales the rest by 1/(1−p) when training. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  return Tensor.wrap(backend().dropout(x.handle, checkP(p), training));
}
/** Zeroes whole channels of (N, C, H, W) with probability p (F.dropout2d). */
export function dropout2d(x: Tensor, p = 0.5, training = true): Tensor {
  return Tensor.wrap(backend().featureDropout(x.handle, checkP(p), training));
}
