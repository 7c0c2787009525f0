/** Base of every error we throw on purpose: a stable code and a hint that says what to do next. */
export class MsccnetError extends Error {
  constructor(
    readonly code: `MSCCNET_${string}`,
    /** what went wrong, without the hint (`message` holds both) */
    readonly problem: string,
    readonly hint: string,
    options?: ErrorOptions,
  ) {
    super(`${problem}\n  → ${hint}`, options);
    this.name = new.target.name;
  }
}

/** A bad value for a named parameter: what was expected, what arrived. */
export class ArgumentError extends MsccnetError {
  constructor(readonly parameter: string, expected: string, got: unknown, hint = `pass ${expected}`) {
    super('MSCCNET_ARGUMENT', `${parameter}: expected ${expected}, got ${describe(got)}`, hint);
  }
}

/** A configuration that fails validation; one `path: message` line per problem. */
export class ConfigError extends MsccnetError {
  constructor(readonly problems: readonly string[], hint = 'fix the fields named above') {
    super('MSCCNET_CONFIG', `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`, hint);
  }
}

/** An input file that is missing, unreadable or not what it should be. */
export class InputFileError extends MsccnetError {
  constructor(readonly path: string, problem: string, hint: string, options?: ErrorOptions) {
    super('MSCCNET_INPUT_FILE', `${path}: ${problem}`, hint, options);
  }
}

/** `value (type)` for error messages, short enough for one line. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.slice(0, 6).map(describe).join(', ')}${value.length > 6 ? ', …' : ''}] (array)`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of ${value.byteLength} bytes`;
  if (typeof value === 'string') return `'${value.length > 60 ? `${value.slice(0, 57)}…` : value}' (string)`;
  if (typeof value === 'object') return `${value.constructor?.name ?? 'object'}`;
  return `${String(value)} (${typeof value})`;
}
