/**
 * Module: PyTorch's nn.Module for our API. Parameters, buffers and children are found by walking
 * the instance's own fields in declaration order, so a field's name is its state-dict key
 * (`layer3.4.conv2.weight`) with no registration calls. `null` fields are skipped.
 */
import { ArgumentError } from '../errors.js';
import { torch } from '../torch/torch.js';
import { disposeIfScoped, tidy } from '../torch/scope.js';
import type { Device, MemoryFormat, Tensor } from '../torch/tensor.js';
import { StateDictError } from './errors.js';
import { Buffer, Parameter } from './parameter.js';

export type StateDict = Map<string, Tensor> | Readonly<Record<string, Tensor>>;

export interface LoadStateDictOptions {
  /** Missing or unexpected keys throw a StateDictError (default true). Shape mismatches always throw. */
  strict?: boolean;
  /** Prepended to every key of the given state dict before matching, e.g. 'backbone_net.' for a backbone-only file. */
  prefix?: string;
}

export abstract class Module {
  /** Train mode (dropout active, BatchNorm uses and updates batch statistics). */
  training = true;

  /**
   * Every forward call is a scope of its own (torch.tidy): the tensors it makes and does not
   * return are freed when it returns, as PyTorch frees an intermediate when its last reference
   * goes. Without this a whole forward pass's intermediates stay alive until the caller's scope
   * ends, and each needs fresh, page-faulted memory. Autograd keeps its own references to what
   * backward needs, so this holds in training too.
   */
  constructor() {
    const forward = (this as { forward?: unknown }).forward;
    if (typeof forward === 'function') {
      Object.defineProperty(this, 'forward', {
        value: function scopedForward(this: Module, ...args: unknown[]): unknown {
          return tidy(() => forward.apply(this, args) as unknown);
        },
        writable: true,
        configurable: true,
      });
    }
  }

  /** [fieldName, value] of the fields that hold parameters, buffers or child modules, in order. */
  protected entries(): [string, Parameter | Buffer | Module][] {
    const out: [string, Parameter | Buffer | Module][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Parameter || v instanceof Buffer || v instanceof Module) out.push([k, v]);
    }
    return out;
  }

  *namedChildren(): Generator<[string, Module]> {
    for (const [k, v] of this.entries()) if (v instanceof Module) yield [k, v];
  }
  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }
  /** This module and every descendant, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [k, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${k}` : k);
  }
  *namedParameters(prefix = ''): Generator<[string, Parameter]> {
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [k, v] of m.entries()) if (v instanceof Parameter) yield [name ? `${name}.${k}` : k, v];
    }
  }
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }
  *namedBuffers(prefix = ''): Generator<[string, Buffer]> {
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [k, v] of m.entries()) if (v instanceof Buffer) yield [name ? `${name}.${k}` : k, v];
    }
  }
  buffers(): Buffer[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }
  /** Number of trainable elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  /** Sets train mode on this module and its descendants; returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter and buffer to `device` in place (PyTorch's `module.to(device,
   * memory_format=…)`): the Parameter objects stay the same, so build optimizers before or after.
   * `memoryFormat: 'channelsLast'` also lays out the 4-D ones (convolution weights) as NHWC.
   */
  to(device: Device, opts: { memoryFormat?: MemoryFormat } = {}): this {
    torch.noGrad(() =>
      torch.tidy(() => {
        for (const t of [...this.parameters(), ...this.buffers()]) {
          let moved = t.to(device);
          if (opts.memoryFormat !== undefined && moved.ndim === 4) moved = moved.contiguous(opts.memoryFormat);
          t.setData(moved);
        }
      }),
    );
    return this;
  }

  /** Clears every parameter's gradient (PyTorch's set_to_none=True). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's order (per module: its
   * parameters, then its buffers, then its children). The tensors are the module's own: do not
   * dispose them; clone to snapshot.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const walk = (m: Module, prefix: string) => {
      const entries = m.entries();
      for (const [k, v] of entries) if (v instanceof Parameter) out.set(prefix + k, v);
      for (const [k, v] of entries) if (v instanceof Buffer && v.persistent) out.set(prefix + k, v);
      for (const [k, v] of entries) if (v instanceof Module) walk(v, `${prefix}${k}.`);
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies values into this module's parameters and buffers by name (converting dtype; no
   * autograd). Strict by default: any missing or unexpected key throws a StateDictError naming
   * them; non-strict returns them instead. A shape mismatch always throws.
   */
  loadStateDict(sd: StateDict, opts: LoadStateDictOptions = {}): { missing: string[]; unexpected: string[] } {
    const strict = opts.strict ?? true;
    const prefix = opts.prefix ?? '';
    const source = new Map<string, Tensor>();
    for (const [k, v] of sd instanceof Map ? sd : Object.entries(sd)) source.set(prefix + k, v);
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !source.has(k));
    const unexpected = [...source.keys()].filter((k) => !own.has(k));
    const shapeMismatch: { key: string; expected: number[]; got: number[] }[] = [];
    for (const [k, t] of own) {
      const s = source.get(k);
      if (s && s.shape.join() !== t.shape.join()) shapeMismatch.push({ key: k, expected: t.shape, got: s.shape });
    }
    if (shapeMismatch.length || (strict && (missing.length || unexpected.length))) {
      throw new StateDictError(
        missing,
        unexpected,
        shapeMismatch,
        strict && !shapeMismatch.length
          ? 'load a state dict of this architecture, or pass { strict: false } (and a prefix) to load a part on purpose'
          : 'the architecture (channels, kernel sizes, classes) differs from the one that saved these weights',
      );
    }
    torch.noGrad(() => {
      for (const [k, t] of own) {
        const s = source.get(k);
        if (s) t.copy_(s);
      }
    });
    return { missing, unexpected };
  }

  /** Frees every parameter and buffer of this module and its descendants now. */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) t.dispose();
  }
}

/** The device of a module's parameters (the first one's: Module.to moves them all together); 'cpu' without any. */
export function deviceOf(m: Module): Device {
  const first = m.parameters()[0] ?? m.buffers()[0];
  return first === undefined ? 'cpu' : first.device;
}

/** A module mapping one tensor to one tensor: what Sequential can chain. */
export interface TensorModule extends Module {
  forward(x: Tensor): Tensor;
}

/** Children named "0", "1", … (PyTorch's nn.Sequential keys), applied in order. */
export class Sequential extends Module {
  constructor(...modules: TensorModule[]) {
    super();
    modules.forEach((m, i) => Object.defineProperty(this, String(i), { value: m, enumerable: true }));
  }
  get length(): number {
    return [...this.children()].length;
  }
  at(i: number): TensorModule {
    const m = (this as unknown as Record<string, TensorModule | undefined>)[String(i < 0 ? i + this.length : i)];
    if (!m) throw new ArgumentError('index', `an index in [0, ${this.length})`, i);
    return m;
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) {
      const next = (m as TensorModule).forward(y);
      // the consumed intermediate goes now, so a chain holds one activation, not all of them
      if (next !== y) disposeIfScoped(y);
      y = next;
    }
    return y;
  }
}

/** A list of modules named "0", "1", … without a forward (PyTorch's nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly #items: M[];
  constructor(modules: readonly M[]) {
    super();
    this.#items = [...modules];
    modules.forEach((m, i) => Object.defineProperty(this, String(i), { value: m, enumerable: true }));
  }
  get length(): number {
    return this.#items.length;
  }
  at(i: number): M {
    const m = this.#items.at(i);
    if (!m) throw new ArgumentError('index', `an index in [0, ${this.#items.length})`, i);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
}

/**
 * nn.ModuleList holding None entries (HRNet's transitions and fuse layers): a null slot keeps its
 * index, so the modules after it are named as in PyTorch, and has no state-dict keys.
 */
export class ModuleSlots<M extends Module = Module> extends Module {
  readonly #items: (M | null)[];
  constructor(modules: readonly (M | null)[]) {
    super();
    this.#items = [...modules];
    modules.forEach((m, i) => m !== null && Object.defineProperty(this, String(i), { value: m, enumerable: true }));
  }
  get length(): number {
    return this.#items.length;
  }
  /** The module in slot i, or null for a None slot. */
  get(i: number): M | null {
    if (!Number.isInteger(i) || i < 0 || i >= this.#items.length) throw new ArgumentError('index', `an index in [0, ${this.#items.length})`, i);
    return this.#items[i];
  }
}
