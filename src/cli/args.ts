/**
 * Argument parsers shared by the subcommands (commander coercion functions): each returns the
 * value or throws commander's InvalidArgumentError, which commander prints with the option's name.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { DEVICE_SPEC, type DeviceSpec } from '../torch/device.js';
import { METHOD_NAMES, type MethodName } from '../models/method.js';
import { ConfigError, problemLine } from '../errors.js';
import { parseOverride } from '../train/config.js';

/** `--device`: auto, cpu, cuda or cuda:N. */
export function deviceSpec(value: string): DeviceSpec {
  if (!DEVICE_SPEC.test(value)) throw new InvalidArgumentError(`expected auto, cpu, cuda or cuda:N, got '${value}'`);
  return value as DeviceSpec;
}

/** An integer ≥ `min` (`intAtLeast(16)` for a crop side). */
export function intAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected ${min === 1 ? 'a positive integer' : `an integer ≥ ${min}`}, got '${value}'`);
    }
    return n;
  };
}

/** An integer ≥ 1 (counts, sizes, ports, threads). */
export const positiveInt = intAtLeast(1);

/** An integer ≥ 0 (ranks, seeds, counts where 0 means "none" or "inline"). */
export const nonNegativeInt = intAtLeast(0);

/** An unsigned 32-bit integer, 0 … 4294967295 (hash seeds). */
export function uint32(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new InvalidArgumentError(`expected an integer in 0…4294967295, got '${value}'`);
  return n;
}

/** A finite number > 0 (megabytes, megapixels, seconds, SSIM ranges). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

/** A number in [0, 1] (P(fake) thresholds). */
export function probability(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number in [0, 1], got '${value}'`);
  return n;
}

/**
 * `--seeds`: a count n (seeds 0 … n−1) or a comma list of distinct seeds (`0,1,2`); a list needs a
 * comma, so one seed other than 0 is written `--set seed=S` without `--seeds`.
 */
export function seedList(value: string): number[] {
  const v = value.trim();
  if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 1000) return Array.from({ length: Number(v) }, (_, i) => i);
  const items = v.split(',').map((x) => x.trim());
  if (v.includes(',') && items.every((x) => /^\d+$/.test(x) && Number(x) <= 0xffffffff) && new Set(items.map(Number)).size === items.length)
    return items.map(Number);
  throw new InvalidArgumentError(`expected a count of seeds (1…1000, e.g. 3 for 0,1,2) or a comma list of distinct seeds (e.g. 0,1,2), got '${value}'`);
}

/** A comma list, items trimmed, empty items dropped: `a, b,,c` → [a, b, c]. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** A non-empty comma list of names from `allowed`. */
export function choiceList<T extends string>(allowed: readonly T[]): (value: string) => T[] {
  return (value) => {
    const items = commaList(value);
    const bad = items.filter((s) => !allowed.includes(s as T));
    if (bad.length > 0 || items.length === 0)
      throw new InvalidArgumentError(`expected a comma list of ${allowed.join(', ')}; got ${bad.join(', ') || 'nothing'}`);
    return items as T[];
  };
}

/** A repeatable option: every occurrence, in order (`--set a=1 --set b=2`). */
export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

/** A repeatable `n,k,row,col` index (4 integers ≥ 0), every occurrence in order. */
export function tensorIndex(value: string, previous: number[][] | undefined): number[][] {
  const index = value.split(',').map(Number);
  if (index.length !== 4 || index.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new InvalidArgumentError(`expected n,k,row,col (4 non-negative integers), got '${value}'`);
  }
  return [...(previous ?? []), index];
}

/** `--set-method mvss:model.constrain=false`: an override of one method's runs, collected per method. */
export function methodOverride(value: string, previous: Partial<Record<MethodName, string[]>>): Partial<Record<MethodName, string[]>> {
  const colon = value.indexOf(':');
  const method = value.slice(0, colon) as MethodName;
  if (colon <= 0 || !METHOD_NAMES.includes(method) || !value.slice(colon + 1).includes('=')) {
    throw new InvalidArgumentError(`expected METHOD:key.path=value with METHOD one of ${METHOD_NAMES.join(', ')}, got '${value}'`);
  }
  try {
    parseOverride(value.slice(colon + 1)); // a refused key path fails here, before any run starts
  } catch (err) {
    throw new InvalidArgumentError(err instanceof ConfigError ? problemLine(err) : String(err));
  }
  return { ...previous, [method]: [...(previous[method] ?? []), value.slice(colon + 1)] };
}

export const SET_METHOD_HELP = "override a config field of one method's runs only, e.g. mvss:model.constrain=false (repeatable)";

/** `--trust-proxy`: a hop count, or proxy addresses / CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated. */
export function trustProxy(value: string): number | string[] {
  if (/^\d+$/.test(value.trim())) return Number(value);
  const items = value.split(',').map((v) => v.trim());
  const bad = items.find((v) => {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(v)) return false;
    const [address = '', prefix, ...rest] = v.split('/');
    const family = isIP(address);
    return family === 0 || rest.length > 0 || (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)));
  });
  if (bad !== undefined) {
    throw new InvalidArgumentError(`expected a hop count or proxy addresses/CIDR ranges (e.g. 10.0.0.1,10.1.0.0/16, or loopback), got '${bad}'`);
  }
  return items;
}
