/**
 * torch.optim.SGD, update for update:
 *   g ← grad + weightDecay·p
 *   buf ← g (first step) | momentum·buf + (1 − dampening)·g
 *   g ← nesterov ? g + momentum·buf : buf
 *   p ← p − lr·g
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../torch/tensor.js';
import { checkNonNegative, Optimizer, type GroupOf, type OptimizerState, type ParamsInput } from './optimizer.js';
import type { Parameter } from './parameter.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}
export type ParamGroup = GroupOf<Required<SgdOptions>>;
/** What SGD.stateDict() returns: momentum buffers under 'state.{i}.momentum_buffer' plus the hyper-parameters. */
export type SgdState = OptimizerState<Required<SgdOptions>>;

export class SGD extends Optimizer<Required<SgdOptions>> {
  /** params: one list (defaults apply) or groups that override the defaults per group. */
  constructor(params: ParamsInput<SgdOptions>, defaults: SgdOptions) {
    super(params, (g) => {
      const group: Required<SgdOptions> = {
        lr: checkNonNegative(g.lr ?? defaults.lr, 'lr'),
        momentum: checkNonNegative(g.momentum ?? defaults.momentum ?? 0, 'momentum'),
        dampening: checkNonNegative(g.dampening ?? defaults.dampening ?? 0, 'dampening'),
        weightDecay: checkNonNegative(g.weightDecay ?? defaults.weightDecay ?? 0, 'weightDecay'),
        nesterov: g.nesterov ?? defaults.nesterov ?? false,
      };
      if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
        throw new ArgumentError('nesterov', 'momentum > 0 and dampening 0 (PyTorch requires both)', group);
      }
      return group;
    });
  }

  protected update(p: Parameter, grad: Tensor, g: ParamGroup): void {
    let d = g.weightDecay !== 0 ? grad.add(p.mul(g.weightDecay)) : grad;
    if (g.momentum !== 0) {
      const fresh = !this.state.get(p)?.has('momentum_buffer');
      const buf = this.stateOf(p, 'momentum_buffer', () => d.clone());
      if (!fresh) buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      d = g.nesterov ? d.add(buf.mul(g.momentum)) : buf;
    }
    p.add_(d, -g.lr);
  }

  protected stateNames(): readonly string[] {
    return ['momentum_buffer'];
  }
}
