/**
 * Deterministic release of native tensors: `tidy(fn)` frees every tensor created while fn runs,
 * except the tensors reachable from its result (a tensor, or arrays / plain objects / Maps of them),
 * which move to the enclosing scope. Outside any scope a tensor lives until dispose() or GC.
 */
import { ArgumentError } from '../errors.js';

/** What a scope needs from a tensor; Tensor implements it. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /** No scope will free it any more: GC decides when, so V8 is told the memory it holds. */
  leaveToGc(): void;
}

const scopes: Set<Disposable>[] = [];

/**
 * Registers a newly created tensor with the innermost tidy() scope; outside any scope its lifetime
 * is GC's. Only then does V8 learn of its bytes: a scope's intermediates are freed by the scope, and
 * counting them made V8 run a full GC for every 64 MiB a forward pass allocated (docs/performance.md).
 */
export function track(t: Disposable): void {
  const scope = scopes[scopes.length - 1];
  if (scope === undefined) t.leaveToGc();
  else scope.add(t);
}

/** Removes a tensor from every open scope so that it survives them (parameters, caches). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  t.leaveToGc();
  return t;
}

/**
 * Disposes t now if the innermost scope created it (an intermediate that its consumer is done
 * with), rather than when the scope ends; anything else (inputs, parameters, kept tensors, a
 * tensor of an outer scope) is left alone. Returns whether it was disposed.
 */
export function disposeIfScoped(t: Disposable): boolean {
  const scope = scopes[scopes.length - 1];
  if (scope === undefined || !scope.delete(t)) return false;
  t.dispose();
  return true;
}

function isDisposable(v: unknown): v is Disposable {
  return typeof v === 'object' && v !== null && 'dispose' in v && 'isDisposed' in v;
}

/** Every Disposable reachable from value through arrays, plain objects and Maps. */
function reachable(value: unknown, out = new Set<Disposable>(), seen = new Set<unknown>()): Set<Disposable> {
  if (typeof value !== 'object' || value === null || seen.has(value)) return out;
  seen.add(value);
  if (isDisposable(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) reachable(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) reachable(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) reachable(v, out, seen);
  return out;
}

/**
 * Runs fn (synchronous only: tensors of an awaited continuation would escape the scope) and
 * disposes every tensor it created except those it returns. On a throw, all of them are freed.
 */
export function tidy<R>(fn: () => R): R {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new ArgumentError('tidy(fn)', 'a synchronous function', result, 'await outside tidy(); wrap only the synchronous tensor work');
  }
  const kept = reachable(result);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (!kept.has(t)) t.dispose();
    else if (parent === undefined) t.leaveToGc();
    else parent.add(t);
  }
  return result;
}

/** Disposes every tensor reachable from value (a tensor, or arrays / objects / Maps of them). */
export function dispose(value: unknown): void {
  for (const t of reachable(value)) t.dispose();
}
