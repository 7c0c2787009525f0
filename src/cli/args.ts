/** Argument parsers shared by the subcommands (commander coercion functions). */
import { InvalidArgumentError } from 'commander';
import { DEVICE_SPEC, type DeviceSpec } from '../torch/device.js';

/** `--device`: auto, cpu, cuda or cuda:N. */
export function deviceSpec(value: string): DeviceSpec {
  if (!DEVICE_SPEC.test(value)) throw new InvalidArgumentError(`expected auto, cpu, cuda or cuda:N, got '${value}'`);
  return value as DeviceSpec;
}
