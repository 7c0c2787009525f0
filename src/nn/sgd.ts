/**
 * torch.optim.SGD, update for update:
 *   g ← grad + weightDecay·p
 *   buf ← g (first step) | momentum·buf + (1 − dampening)·g
 *   g ← nesterov ? g + momentum·buf : buf
 *   p ← p − lr·g
 * Parameters without a gradient are skipped, as in PyTorch.
 */
import { ArgumentError } from '../errors.js';
import { torch } from '../torch/torch.js';
import type { Tensor } from '../torch/tensor.js';
import { Buffer, type Parameter } from './parameter.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}
export interface ParamGroup extends Required<SgdOptions> {
  params: Parameter[];
}
/** What SGD.stateDict() returns: momentum buffers under 'state.{i}.momentum_buffer' (i = PyTorch's flat parameter index) plus the hyper-parameters. */
export interface SgdState {
  tensors: Map<string, Tensor>;
  paramGroups: Omit<ParamGroup, 'params'>[];
}

function checkNonNegative(v: number, name: string): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new ArgumentError(name, 'a finite number ≥ 0', v);
  return v;
}

export class SGD {
  readonly paramGroups: ParamGroup[];
  readonly #momentumBuffers = new Map<Parameter, Buffer>();

  /** params: one list (defaults apply) or groups that override the defaults per group. */
  constructor(params: readonly Parameter[] | readonly ({ params: readonly Parameter[] } & Partial<SgdOptions>)[], defaults: SgdOptions) {
    const groups = params.length > 0 && 'params' in (params[0] as object)
      ? (params as readonly ({ params: readonly Parameter[] } & Partial<SgdOptions>)[])
      : [{ params: params as readonly Parameter[] }];
    this.paramGroups = groups.map((g) => {
      const group: ParamGroup = {
        params: [...g.params],
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

  /** Learning rate of the first group; setting it sets every group's (for per-step schedules). */
  get lr(): number {
    return this.paramGroups[0].lr;
  }
  set lr(value: number) {
    checkNonNegative(value, 'lr');
    for (const g of this.paramGroups) g.lr = value;
  }

  /** Sets every parameter's gradient to null (PyTorch ≥ 2.0's default set_to_none). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  step(): void {
    torch.tidy(() => torch.noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          const grad = p.grad;
          if (grad === null) continue;
          let d = g.weightDecay !== 0 ? grad.add(p.mul(g.weightDecay)) : grad;
          if (g.momentum !== 0) {
            let buf = this.#momentumBuffers.get(p);
            if (buf === undefined) {
              buf = new Buffer(d.clone());
              this.#momentumBuffers.set(p, buf);
            } else {
              buf.mul_(g.momentum).add_(d, 1 - g.dampening);
            }
            d = g.nesterov ? d.add(buf.mul(g.momentum)) : buf;
          }
          p.add_(d, -g.lr);
        }
      }
    }));
  }

  #flatParams(): Parameter[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Momentum buffers (the optimizer's own tensors: clone to snapshot) and hyper-parameters. */
  stateDict(): SgdState {
    const tensors = new Map<string, Tensor>();
    this.#flatParams().forEach((p, i) => {
      const buf = this.#momentumBuffers.get(p);
      if (buf) tensors.set(`state.${i}.momentum_buffer`, buf);
    });
    return { tensors, paramGroups: this.paramGroups.map(({ params: _params, ...rest }) => ({ ...rest })) };
  }

  /** Restores momentum buffers (copied) and hyper-parameters saved by stateDict() of an SGD over the same parameters. */
  loadStateDict(state: SgdState): void {
    if (state.paramGroups.length !== this.paramGroups.length) {
      throw new ArgumentError('state.paramGroups', `${this.paramGroups.length} group(s)`, state.paramGroups.length,
        'load the state of an optimizer built over the same parameter groups');
    }
    const params = this.#flatParams();
    const buffers = new Map<Parameter, Buffer>();
    for (const [key, t] of state.tensors) {
      const m = /^state\.(\d+)\.momentum_buffer$/.exec(key);
      const p = m ? params[Number(m[1])] : undefined;
      if (!p) throw new ArgumentError('state.tensors', `keys state.{0…${params.length - 1}}.momentum_buffer`, key);
      if (p.shape.join() !== t.shape.join()) {
        throw new ArgumentError(key, `shape [${p.shape.join(', ')}]`, t.shape, 'load the state of an optimizer over the same parameters');
      }
      buffers.set(p, torch.tidy(() => new Buffer(t.detach().to(p.dtype).clone())));
    }
    for (const b of this.#momentumBuffers.values()) b.dispose();
    this.#momentumBuffers.clear();
    for (const [p, b] of buffers) this.#momentumBuffers.set(p, b);
    state.paramGroups.forEach((g, i) => Object.assign(this.paramGroups[i], g));
  }
}
