/**
 * torch.cuda.amp.GradScaler: fp16 gradients underflow to zero for small losses, so the loss is
 * multiplied by `scale` before backward and the gradients divided by it before the optimiser
 * step. A step whose gradients hold an inf or NaN (the scale was too large) is skipped and the
 * scale multiplied by backoffFactor; after growthInterval clean steps in a row it is multiplied
 * by growthFactor. Defaults and state names are PyTorch's. The inf/NaN check costs one host
 * copy per step (as PyTorch's `found_inf.item()`), whatever the number of parameters.
 */
import { ArgumentError } from '../errors.js';
import { torch } from '../torch/torch.js';
import type { Tensor } from '../torch/tensor.js';
import type { Optimizer } from './optimizer.js';

export interface GradScalerOptions {
  /** 2¹⁶ */
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  /** disabled: scale() returns the loss, step() just steps (fp32 / bf16 runs) */
  enabled?: boolean;
}

/** `GradScaler.state_dict()` under PyTorch's names. */
export interface GradScalerState {
  readonly scale: number;
  readonly growth_factor: number;
  readonly backoff_factor: number;
  readonly growth_interval: number;
  readonly _growth_tracker: number;
}

export class GradScaler {
  readonly enabled: boolean;
  #scale: number;
  #growthFactor: number;
  #backoffFactor: number;
  #growthInterval: number;
  #growthTracker = 0;
  /** null: this step's gradients are not unscaled yet; else whether they held an inf/NaN */
  #foundInf: boolean | null = null;

  constructor(opts: GradScalerOptions = {}) {
    this.enabled = opts.enabled ?? true;
    this.#scale = positive(opts.initScale ?? 2 ** 16, 'initScale');
    this.#growthFactor = positive(opts.growthFactor ?? 2, 'growthFactor');
    this.#backoffFactor = positive(opts.backoffFactor ?? 0.5, 'backoffFactor');
    this.#growthInterval = opts.growthInterval ?? 2000;
    if (this.#growthFactor <= 1) throw new ArgumentError('growthFactor', 'a number > 1', this.#growthFactor);
    if (this.#backoffFactor >= 1) throw new ArgumentError('backoffFactor', 'a number in (0, 1)', this.#backoffFactor);
    if (!Number.isInteger(this.#growthInterval) || this.#growthInterval < 1)
      throw new ArgumentError('growthInterval', 'a positive integer', this.#growthInterval);
  }

  /** The current scale (PyTorch's get_scale(); 1 when disabled). */
  getScale(): number {
    return this.enabled ? this.#scale : 1;
  }

  /** loss × scale, to backpropagate (the loss itself when disabled). */
  scale(loss: Tensor): Tensor {
    return this.enabled ? loss.mul(this.#scale) : loss;
  }

  /**
   * Divides the optimiser's gradients by the scale in place and records whether any is inf/NaN
   * (call before gradient clipping; step() calls it otherwise). Once per step.
   */
  unscale_(optimizer: Optimizer<{ lr: number }>): void {
    if (!this.enabled) return;
    if (this.#foundInf !== null)
      throw new ArgumentError('unscale_()', 'one call per step', 'a second call', 'call update() after step() before unscaling again');
    const inv = Math.fround(1 / this.#scale); // PyTorch: scale.double().reciprocal().float()
    this.#foundInf = torch.tidy(() =>
      torch.noGrad(() => {
        // g·0 is 0 for a finite g and NaN for ±inf or NaN: the sum of all is NaN iff any gradient is non-finite
        const probes: Tensor[] = [];
        for (const g of optimizer.paramGroups) {
          for (const p of g.params) {
            const grad = p.grad;
            if (grad === null) continue;
            grad.mul_(inv);
            probes.push(grad.mul(0).sum().float());
          }
        }
        if (probes.length === 0) return false;
        return Number.isNaN(torch.stack(probes).sum().to('cpu').item());
      }),
    );
  }

  /** Unscales if needed, then steps the optimiser unless a gradient was inf/NaN; returns whether it stepped. */
  step(optimizer: Optimizer<{ lr: number }>): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    if (this.#foundInf === null) this.unscale_(optimizer);
    if (this.#foundInf) return false;
    optimizer.step();
    return true;
  }

  /** After step(): back off on a skipped step, grow after growthInterval clean ones (torch._amp_update_scale_). */
  update(): void {
    if (!this.enabled) return;
    if (this.#foundInf === null) throw new ArgumentError('update()', 'a call after step()', 'no step', 'call step(optimizer) first');
    if (this.#foundInf) {
      this.#scale = Math.fround(this.#scale * this.#backoffFactor);
      this.#growthTracker = 0;
    } else if (++this.#growthTracker === this.#growthInterval) {
      this.#scale = Math.fround(this.#scale * this.#growthFactor);
      this.#growthTracker = 0;
    }
    this.#foundInf = null;
  }

  stateDict(): GradScalerState {
    return {
      scale: this.#scale,
      growth_factor: this.#growthFactor,
      backoff_factor: this.#backoffFactor,
      growth_interval: this.#growthInterval,
      _growth_tracker: this.#growthTracker,
    };
  }

  loadStateDict(state: GradScalerState): void {
    this.#scale = positive(state.scale, 'scale');
    this.#growthFactor = positive(state.growth_factor, 'growth_factor');
    this.#backoffFactor = positive(state.backoff_factor, 'backoff_factor');
    this.#growthInterval = state.growth_interval;
    this.#growthTracker = state._growth_tracker;
    this.#foundInf = null;
  }
}

function positive(v: number, name: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new ArgumentError(name, 'a finite number > 0', v);
  return v;
}
