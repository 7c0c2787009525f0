import { torch, type Tensor } from '../torch/index.js';
import { ArgumentError } from '../errors.js';
import { BatchNorm2d } from './layers.js';
import type { Module } from './module.js';

/**
 * Precise BatchNorm statistics (Wu & Johnson, "Rethinking 'Batch' in BatchNorm", 2021;
 * detectron2's PreciseBN): every tracking BatchNorm of `model` gets as running mean and variance
 * the plain average, over `batches` train-mode forwards, of the batch's mean and unbiased
 * variance (what one forward writes with momentum 1, as PyTorch's BN does), in place of the
 * exponential average that a small momentum (EfficientNet's and HRNet's 0.01) leaves far behind
 * after a short run. `forward(i)` runs the i-th forward (without gradient); the pass sets train
 * mode and changes nothing but the running statistics (momentum and num_batches_tracked are
 * restored; the model is left in train mode).
 */
export async function preciseBatchNorm(model: Module, batches: number, forward: (i: number) => Promise<void>): Promise<void> {
  if (!Number.isInteger(batches) || batches < 1) throw new ArgumentError('batches', 'a positive integer', batches);
  const layers = [...model.namedModules()].map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d && m.running_mean !== null);
  const saved = layers.map((bn) => ({ momentum: bn.momentum, tracked: bn.num_batches_tracked!.clone() }));
  const sums: [Tensor, Tensor][] = layers.map((bn) => [bn.running_mean!.clone().zero_(), bn.running_var!.clone().zero_()]);
  try {
    model.train();
    for (const bn of layers) bn.momentum = 1;
    for (let i = 0; i < batches; i++) {
      await forward(i);
      torch.noGrad(() => layers.forEach((bn, j) => (sums[j][0].add_(bn.running_mean!), sums[j][1].add_(bn.running_var!))));
    }
    torch.noGrad(() => layers.forEach((bn, j) => (bn.running_mean!.copy_(sums[j][0].div_(batches)), bn.running_var!.copy_(sums[j][1].div_(batches)))));
  } finally {
    layers.forEach((bn, j) => {
      bn.momentum = saved[j].momentum;
      torch.noGrad(() => bn.num_batches_tracked!.copy_(saved[j].tracked));
      saved[j].tracked.dispose();
      sums[j].forEach((t) => t.dispose());
    });
  }
}
