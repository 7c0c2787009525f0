/**
 * PyTorch's initialisers (torch.nn.init), drawing from libtorch's generator so that
 * torch.manualSeed makes them reproducible. All modify the tensor in place, without autograd.
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../torch/tensor.js';

/** fan_in, fan_out as torch.nn.init._calculate_fan_in_and_fan_out: dims 1 and 0 × receptive field. */
export function fanInFanOut(t: Tensor): [fanIn: number, fanOut: number] {
  const s = t.shape;
  if (s.length < 2) throw new ArgumentError('tensor', 'at least 2 dimensions for fan in/out', s);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return [s[1] * receptive, s[0] * receptive];
}

export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    default:
      return 1;
  }
}

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return t.uniform_(a, b);
}
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return t.normal_(mean, std);
}
export function constant_(t: Tensor, value: number): Tensor {
  return t.fill_(value);
}

export interface KaimingOptions {
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
}
/** U(−bound, bound), bound = gain·√(3 / fan); with a = √5 (PyTorch's layer default) bound = 1/√fan_in. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const [fanIn, fanOut] = fanInFanOut(t);
  const fan = (opts.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  const bound = Math.sqrt(3) * (gain / Math.sqrt(fan));
  return t.uniform_(-bound, bound);
}
/** N(0, std²), std = gain/√fan (torchvision ResNet uses mode fanOut, relu). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const [fanIn, fanOut] = fanInFanOut(t);
  const fan = (opts.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return t.normal_(0, gain / Math.sqrt(fan));
}
