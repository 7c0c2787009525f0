/**
 * torch.optim.AdamW (amsgrad off), update for update, with t counted per parameter:
 *   p ← p·(1 − lr·weightDecay)                       (decoupled decay)
 *   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
 *   p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
 * Not the official recipe (SGD from ImageNet weights); it trains from random init far faster.
 */
import { ArgumentError } from '../errors.js';
import { torch } from '../torch/torch.js';
import type { Tensor } from '../torch/tensor.js';
import { checkNonNegative, Optimizer, type GroupOf, type OptimizerState, type ParamsInput } from './optimizer.js';
import type { Parameter } from './parameter.js';

export interface AdamWOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}
/** Saved as PyTorch does: 'state.{i}.step' (a scalar), 'state.{i}.exp_avg', 'state.{i}.exp_avg_sq'. */
export type AdamWState = OptimizerState<Required<AdamWOptions>>;

export class AdamW extends Optimizer<Required<AdamWOptions>> {
  constructor(params: ParamsInput<AdamWOptions>, defaults: AdamWOptions) {
    super(params, (g) => {
      const betas = g.betas ?? defaults.betas ?? [0.9, 0.999];
      if (!betas.every((b) => b >= 0 && b < 1)) throw new ArgumentError('betas', 'two numbers in [0, 1)', betas);
      return {
        lr: checkNonNegative(g.lr ?? defaults.lr, 'lr'),
        betas: [betas[0], betas[1]],
        eps: checkNonNegative(g.eps ?? defaults.eps ?? 1e-8, 'eps'),
        weightDecay: checkNonNegative(g.weightDecay ?? defaults.weightDecay ?? 0.01, 'weightDecay'),
      };
    });
  }

  protected update(p: Parameter, grad: Tensor, g: GroupOf<Required<AdamWOptions>>): void {
    const [b1, b2] = g.betas;
    const stepBuffer = this.stateOf(p, 'step', () => torch.zeros([], { dtype: 'float32' }));
    const t = stepBuffer.add_(1).item();
    const m = this.stateOf(p, 'exp_avg', () => torch.zerosLike(p));
    const v = this.stateOf(p, 'exp_avg_sq', () => torch.zerosLike(p));
    if (g.weightDecay !== 0) p.mul_(1 - g.lr * g.weightDecay);
    m.mul_(b1).add_(grad, 1 - b1);
    v.mul_(b2).add_(grad.mul(grad), 1 - b2);
    const denom = v
      .sqrt()
      .div(Math.sqrt(1 - b2 ** t))
      .add(g.eps);
    p.add_(m.div(denom), -g.lr / (1 - b1 ** t));
  }

  protected stateNames(): readonly string[] {
    return ['step', 'exp_avg', 'exp_avg_sq'];
  }
}
