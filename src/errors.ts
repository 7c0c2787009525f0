import type { z } from 'zod';

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

  /** The error as data for JSON replies, JSON lines and reports: no re-parsing of `message`. */
  toJSON(): { code: `MSCCNET_${string}`; problem: string; hint: string } {
    return { code: this.code, problem: this.problem, hint: this.hint };
  }
}

/** Any thrown value as data: an MsccnetError's toJSON(), anything else an internal error with its message and `hint`. */
export function errorData(err: unknown, hint: string): ReturnType<MsccnetError['toJSON']> {
  if (err instanceof MsccnetError) return err.toJSON();
  return { code: 'MSCCNET_INTERNAL', problem: err instanceof Error ? err.message : String(err), hint };
}

/**
 * What went wrong, on one line, for skip reasons and JSON lines: an MsccnetError's `problem` (not
 * its hint), another error's message; the lines of a multi-line problem (a ConfigError's
 * `invalid configuration:` and its fields) are joined, none dropped.
 */
export function problemLine(err: unknown): string {
  const text = err instanceof MsccnetError ? err.problem : err instanceof Error ? err.message : String(err);
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .reduce((line, part) => (line === '' ? part : `${line}${line.endsWith(':') ? ' ' : '; '}${part}`), '');
}

/** A bad value for a named parameter: what was expected, what arrived. */
export class ArgumentError extends MsccnetError {
  constructor(
    readonly parameter: string,
    expected: string,
    got: unknown,
    hint = `pass ${expected}`,
  ) {
    super('MSCCNET_ARGUMENT', `${parameter}: expected ${expected}, got ${describe(got)}`, hint);
  }
}

/** A configuration that fails validation; one `path: message` line per problem. */
export class ConfigError extends MsccnetError {
  constructor(
    readonly problems: readonly string[],
    hint = 'fix the fields named above',
  ) {
    super('MSCCNET_CONFIG', `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`, hint);
  }
}

/** How {@link zodProblems} words the problems of one schema. */
export interface ProblemWording {
  /** put before every path, e.g. `hpfcn.` for a method's config */
  readonly prefix?: string;
  /** what follows `path.key: ` for a key the schema does not know (default `unknown key`) */
  readonly unknownKey?: string;
}

/** One `path: message` per problem of a zod failure; each unknown key names itself. */
export function zodProblems(error: z.ZodError, wording: ProblemWording = {}): string[] {
  const { prefix = '', unknownKey = 'unknown key' } = wording;
  return error.issues.flatMap((i) => {
    const at = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${prefix}${at ? `${at}.` : ''}${k}: ${unknownKey}`);
    return [`${prefix}${at || '(config)'}: ${i.message}`];
  });
}

/**
 * `schema`'s output for `input`, or a ConfigError naming every bad field (see {@link zodProblems})
 * with `hint`: the one adapter from a config or option schema to our errors.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, hint: string, wording?: ProblemWording): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigError(zodProblems(parsed.error, wording), hint);
}

/** An input file that is missing, unreadable or not what it should be. */
export class InputFileError extends MsccnetError {
  constructor(
    readonly path: string,
    problem: string,
    hint: string,
    options?: ErrorOptions,
  ) {
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

/**
 * A file-system or network failure (permission, read-only folder, full disk, busy port, refused
 * connection), worded for a person: the path or address, what happened, what to do.
 */
export class IoError extends MsccnetError {
  constructor(
    readonly path: string,
    problem: string,
    hint: string,
    options?: ErrorOptions,
  ) {
    super('MSCCNET_IO', `${path}: ${problem}`, hint, options);
  }
}

/** What each errno means and what a user can do about it (`{path}` is filled in). */
const ERRNO: Record<string, readonly [problem: string, hint: string]> = {
  EACCES: ['permission denied', 'choose a location you may write to or read, or fix its permissions'],
  EPERM: ['operation not permitted', 'choose a location you may write to or read, or fix its permissions'],
  EROFS: ['read-only file system', 'write the outputs to a writable folder'],
  ENOSPC: ['no space left on the device', 'free some space, or write the outputs to another disk'],
  EDQUOT: ['disk quota exceeded', 'free some space, or write the outputs to another disk'],
  EFBIG: ['file too large (the file-size limit, ulimit -f, or the file system)', 'raise the limit (ulimit -f) or write the outputs to another file system'],
  EIO: ['input/output error', 'check the disk and its connection, then retry'],
  ENOENT: ['does not exist', 'check the path'],
  ENOTDIR: ['a part of the path is not a folder', 'check the path'],
  EISDIR: ['is a folder, not a file', 'pass a file'],
  EMFILE: ['too many open files', 'raise the limit (ulimit -n) or use fewer workers'],
  EADDRINUSE: ['already in use', 'pick another --port, or stop the program that holds it'],
  EADDRNOTAVAIL: ['is not an address of this machine', "pass --host 127.0.0.1, 0.0.0.0 or one of this machine's addresses"],
  ENOTFOUND: ['host name not found', 'check the host name'],
  EAI_AGAIN: ['host name cannot be resolved now', 'check the host name and the network'],
  ECONNREFUSED: ['connection refused', 'check that the server runs and the URL is right'],
  ETIMEDOUT: ['timed out', 'check the network and the address'],
};

/**
 * The IoError of a Node system error (found on `err` or its cause chain), or null when `err` is
 * no system error. `where` names the path or address when the error lacks one.
 */
export function ioErrorOf(err: unknown, where?: string): IoError | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    // spelled out instead of NodeJS.ErrnoException: this module is in the page's bundle, which has no Node types
    const sys = e as Error & { code?: unknown; syscall?: string; path?: string; address?: string; port?: number; hostname?: string };
    if (typeof sys.code !== 'string' || sys.syscall === undefined) continue;
    const known = ERRNO[sys.code];
    const place =
      sys.path ??
      (sys.port !== undefined ? `port ${sys.port}${sys.address ? ` on ${sys.address}` : ''}` : (sys.hostname ?? sys.address ?? where ?? sys.syscall));
    const [problem, hint] = known ?? [sys.message.replace(/^\w+: /, ''), 'check the path or address, then retry'];
    return new IoError(place, `${problem} (${sys.code}, ${sys.syscall})`, hint, { cause: err });
  }
  return null;
}
