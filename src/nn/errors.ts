import { MsccnetError } from '../errors.js';

/** loadStateDict found keys that do not match the module; lists each kind of difference. */
export class StateDictError extends MsccnetError {
  constructor(
    readonly missing: readonly string[],
    readonly unexpected: readonly string[],
    readonly shapeMismatch: readonly { key: string; expected: number[]; got: number[] }[],
    hint: string,
  ) {
    const lines: string[] = [];
    const list = (label: string, keys: readonly string[]) => {
      if (keys.length) lines.push(`  ${label} (${keys.length}): ${keys.slice(0, 12).join(', ')}${keys.length > 12 ? ', …' : ''}`);
    };
    list('missing keys', missing);
    list('unexpected keys', unexpected);
    for (const m of shapeMismatch.slice(0, 12)) lines.push(`  shape mismatch: ${m.key}: module [${m.expected.join(', ')}], state dict [${m.got.join(', ')}]`);
    super('MSCCNET_STATE_DICT', `state dict does not match the module:\n${lines.join('\n')}`, hint);
  }
}

/** A safetensors file that is truncated or malformed. */
export class SafetensorsError extends MsccnetError {
  constructor(
    readonly source: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(
      'MSCCNET_SAFETENSORS',
      `${source}: ${problem}`,
      'the file is not a valid safetensors file (truncated copy or wrong format?); re-create or re-download it',
      options,
    );
  }
}
