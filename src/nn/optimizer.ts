/**
 * What torch.optim's optimisers share: parameter groups with per-group hyper-parameters, an lr
 * that a per-step schedule sets on every group, set-to-none zeroGrad, and per-parameter state
 * tensors saved as PyTorch names them (`state.{i}.{name}`, i = flat parameter index).
 */
import { ArgumentError } from '../errors.js';
import { torch } from '../torch/torch.js';
import type { Tensor } from '../torch/tensor.js';
import { Buffer, type Parameter } from './parameter.js';

/** Every group has `lr`; subclasses add their own hyper-parameters. */
export type GroupOf<H extends { lr: number }> = H & { params: Parameter[] };
/** Parameters as one list (defaults apply) or as groups that override the defaults. */
export type ParamsInput<H> = readonly Parameter[] | readonly ({ params: readonly Parameter[] } & Partial<H>)[];

/** What stateDict() returns: the state tensors and the hyper-parameters of each group. */
export interface OptimizerState<H = Record<string, unknown>> {
  tensors: Map<string, Tensor>;
  paramGroups: H[];
}

export function checkNonNegative(v: number, name: string): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new ArgumentError(name, 'a finite number ≥ 0', v);
  return v;
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: GroupOf<H>[];
  /** per parameter: its named state tensors (momentum_buffer; exp_avg, exp_avg_sq, step) */
  protected readonly state = new Map<Parameter, Map<string, Buffer>>();

  /** `resolve` fills one group's hyper-parameters from its overrides and the defaults, validating them. */
  constructor(params: ParamsInput<H>, resolve: (overrides: Partial<H>) => H) {
    const groups =
      params.length > 0 && 'params' in (params[0] as object)
        ? (params as readonly ({ params: readonly Parameter[] } & Partial<H>)[])
        : [{ params: params as readonly Parameter[] } as { params: readonly Parameter[] } & Partial<H>];
    this.paramGroups = groups.map((g) => ({ ...resolve(g), params: [...g.params] }));
  }

  /** Learning rate of the first group; setting it sets every group's (for per-step schedules). */
  get lr(): number {
    return this.paramGroups[0]!.lr;
  }
  set lr(value: number) {
    checkNonNegative(value, 'lr');
    for (const g of this.paramGroups) g.lr = value;
  }

  /** Sets every parameter's gradient to null (PyTorch ≥ 2.0's default set_to_none). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /** One update of every parameter that has a gradient (parameters without one are skipped, as in PyTorch). */
  step(): void {
    torch.tidy(() =>
      torch.noGrad(() => {
        for (const g of this.paramGroups) for (const p of g.params) if (p.grad !== null) this.update(p, p.grad, g);
      }),
    );
  }

  protected abstract update(p: Parameter, grad: Tensor, group: GroupOf<H>): void;

  /** The state tensor `name` of `p`, created from `init()` on first use. */
  protected stateOf(p: Parameter, name: string, init: () => Tensor): Buffer {
    let named = this.state.get(p);
    if (named === undefined) this.state.set(p, (named = new Map<string, Buffer>()));
    let b = named.get(name);
    if (b === undefined) named.set(name, (b = new Buffer(init())));
    return b;
  }

  /** Frees every state tensor now (a finished run's moments would otherwise wait for GC, and the next run could not reuse their memory). */
  dispose(): void {
    for (const named of this.state.values()) for (const b of named.values()) b.dispose();
    this.state.clear();
  }

  #flatParams(): Parameter[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** State tensors (the optimizer's own: clone to snapshot) and hyper-parameters. */
  stateDict(): OptimizerState<Omit<H, 'params'>> {
    const tensors = new Map<string, Tensor>();
    this.#flatParams().forEach((p, i) => {
      for (const [name, b] of this.state.get(p) ?? []) tensors.set(`state.${i}.${name}`, b);
    });
    return { tensors, paramGroups: this.paramGroups.map(({ params: _params, ...rest }) => ({ ...rest }) as Omit<H, 'params'>) };
  }

  /** Restores state tensors (copied) and hyper-parameters saved by stateDict() of the same optimizer over the same parameters. */
  loadStateDict(state: OptimizerState): void {
    if (state.paramGroups.length !== this.paramGroups.length) {
      throw new ArgumentError(
        'state.paramGroups',
        `${this.paramGroups.length} group(s)`,
        state.paramGroups.length,
        'load the state of an optimizer built over the same parameter groups',
      );
    }
    const params = this.#flatParams();
    const names = this.stateNames();
    const loaded = new Map<Parameter, Map<string, Buffer>>();
    for (const [key, t] of state.tensors) {
      const m = /^state\.(\d+)\.(\w+)$/.exec(key);
      const p = m ? params[Number(m[1])] : undefined;
      if (!p || !names.includes(m![2]!)) {
        throw new ArgumentError(
          'state.tensors',
          `keys state.{0…${params.length - 1}}.{${names.join('|')}}`,
          key,
          `load the state of a ${this.constructor.name} over the same parameters`,
        );
      }
      const scalar = m![2] === 'step';
      if (!scalar && p.shape.join() !== t.shape.join()) {
        throw new ArgumentError(key, `shape [${p.shape.join(', ')}]`, t.shape, 'load the state of an optimizer over the same parameters');
      }
      let named = loaded.get(p);
      if (named === undefined) loaded.set(p, (named = new Map<string, Buffer>()));
      // state lives with its parameter; the step count stays a CPU scalar, as in torch.optim
      named.set(
        m![2]!,
        torch.tidy(() => new Buffer(scalar ? t.detach().to('float32').clone() : t.detach().to(p.device, { dtype: p.dtype, copy: true }))),
      );
    }
    for (const named of this.state.values()) for (const b of named.values()) b.dispose();
    this.state.clear();
    for (const [p, named] of loaded) this.state.set(p, named);
    state.paramGroups.forEach((g, i) => Object.assign(this.paramGroups[i]!, g));
  }

  /** The per-parameter state names this optimizer saves. */
  protected abstract stateNames(): readonly string[];
}
