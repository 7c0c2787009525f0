/** Probes for non-finite gradients and weights, each read in the step's one host copy (training fails closed). */
import { type MethodModel } from '../models/index.js';
import { deviceOf } from '../nn/index.js';
import { torch, type Tensor } from '../torch/index.js';

/** g·0 is 0 for a finite g and NaN for ±inf or NaN: the sum over every tensor is NaN iff one is non-finite (a 0-d tensor). */
export function gradientProbe(model: MethodModel): Tensor {
  return torch.noGrad(() => {
    const probes = model.parameters().flatMap((p) => {
      const g = p.grad;
      return g === null ? [] : [g.mul(0).sum().float()];
    });
    return probes.length === 0 ? torch.zeros([], { device: deviceOf(model) }) : torch.stack(probes).sum();
  });
}

/** NaN when a parameter is inf or NaN, else 0 (one host read). */
export function nonFiniteProbe(parameters: readonly Tensor[]): number {
  return torch.tidy(() =>
    torch.noGrad(() =>
      torch
        .stack(parameters.map((p) => p.mul(0).sum().float()))
        .sum()
        .to('cpu')
        .item(),
    ),
  );
}
