/**
 * One owner per output folder: `evaluate`, `benchmark`, `train` and `demo` hold an exclusive lock
 * on their folder for the whole run, so a second run (a retry started while the first still
 * runs) is refused at once instead of appending to the same files. The lock is a file that names
 * its owner (PID, host, start time, command); it is created under its final name in one step
 * (`link`, which fails when the name exists), so no reader ever sees a half-written lock.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { ioErrorOf, MsccnetError } from '../errors.js';
import { tempPath } from './atomic.js';

/** The lock's name inside the folder it guards. */
export const LOCK_NAME = '.msccnet.lock';

/** What a lock file says about its owner. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO time the owner took the lock */
  readonly since: string;
  readonly command: string;
  /** the kernel's boot id and the process's start tick (Linux): tell a reused PID or a reboot from the owner */
  readonly bootId: string | null;
  readonly pidStart: string | null;
  /** random: a release removes only its own lock */
  readonly token: string;
}

/** Another run holds the folder (or its lock file cannot be judged). */
export class FolderLockedError extends MsccnetError {
  constructor(
    readonly path: string,
    readonly owner: LockOwner | null,
    problem: string,
    hint: string,
  ) {
    super('MSCCNET_LOCKED', `${path}: ${problem}`, hint);
  }
}

/** A held lock; `release` is idempotent. */
export interface FolderLock {
  readonly dir: string;
  readonly path: string;
  release(): Promise<void>;
}

/** Locks this process holds, by lock path: released on exit and on a signal nobody else handles. */
const held = new Map<string, string>();

const procText = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};
const bootId = (): string | null => procText('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
/** Field 22 of /proc/<pid>/stat (start time in ticks since boot), read after the `)` that ends the command name. */
function pidStart(pid: number): string | null {
  const stat = procText(`/proc/${pid}/stat`);
  return stat === null ? null : (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null);
}

/** Whether the owner of a lock written on this host is still running. */
function alive(owner: LockOwner): boolean {
  if (owner.bootId !== null && owner.bootId !== bootId()) return false; // the machine restarted since
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: a process of another user has that PID; judge by its start time below
  }
  const start = pidStart(owner.pid);
  return owner.pidStart === null || start === null || start === owner.pidStart; // another start time: the PID was reused
}

function releaseAllSync(): void {
  for (const [path, token] of held) {
    try {
      if ((JSON.parse(readFileSync(path, 'utf8')) as LockOwner).token === token) unlinkSync(path);
    } catch {
      // gone or unreadable: nothing of ours to remove
    }
  }
  held.clear();
}

/**
 * SIGINT/SIGTERM/SIGHUP: where this is the only listener (the default would kill the process),
 * release the locks and die by the signal as the default would. Where the program handles the
 * signal itself (the CLI turns SIGINT into an abort), its run ends through its `finally`, which
 * releases the lock; releasing here would let another run in while this one still writes.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  releaseAllSync();
  unhook();
  process.kill(process.pid, signal);
}
let hooked = false;
function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', releaseAllSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}
function unhook(): void {
  hooked = false;
  process.off('exit', releaseAllSync);
  for (const s of SIGNALS) process.off(s, onSignal);
}

async function readOwner(path: string): Promise<LockOwner | null | 'gone'> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' && typeof owner.token === 'string' ? (owner as LockOwner) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    if (err instanceof SyntaxError) return null;
    throw ioErrorOf(err, path) ?? err;
  }
}

const ownerWords = (o: LockOwner): string => `PID ${o.pid} on ${o.host} since ${o.since}${o.command ? ` (${o.command})` : ''}`;

/**
 * Removes a stale lock, unless another process got there first: breakers serialise on a
 * `<lock>.break` file (itself taken with `wx`), and the lock is removed only if it still holds
 * the stale owner's token.
 */
async function breakStale(path: string, stale: LockOwner): Promise<void> {
  const breaker = `${path}.break`;
  let fh;
  try {
    fh = await open(breaker, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioErrorOf(err, breaker) ?? err;
    // another process is breaking it; a breaker that died with the file left behind is itself stale
    const other = await readOwner(breaker);
    if (other !== 'gone' && other !== null && other.host === hostname() && !alive(other)) await rm(breaker, { force: true });
    return;
  }
  try {
    await fh.writeFile(JSON.stringify(ownerRecord('')));
    await fh.close();
    const now = await readOwner(path);
    if (now !== 'gone' && now !== null && now.token === stale.token) await unlink(path);
  } finally {
    await rm(breaker, { force: true });
  }
}

function ownerRecord(command: string): LockOwner {
  return {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    command,
    bootId: bootId(),
    pidStart: pidStart(process.pid),
    token: randomBytes(12).toString('hex'),
  };
}

/**
 * Takes the exclusive lock on `dir` (created if missing) or throws {@link FolderLockedError}
 * naming the run that holds it. A lock whose owner is gone (same host, PID not running or reused,
 * or the machine restarted) is broken and taken over; a lock from another host is never broken
 * automatically. `command` is recorded for the message another run sees (default: this
 * process's arguments).
 */
export async function lockFolder(dir: string, command = process.argv.slice(1).join(' ')): Promise<FolderLock> {
  const abs = resolve(dir);
  const path = join(abs, LOCK_NAME);
  try {
    await mkdir(abs, { recursive: true });
  } catch (err) {
    throw ioErrorOf(err, abs) ?? err;
  }
  if (held.has(path)) {
    throw new FolderLockedError(abs, null, 'is already in use by another run of this process', 'give each run its own output folder');
  }
  const me = ownerRecord(command);
  const tmp = tempPath(path);
  try {
    await open(tmp, 'wx').then(async (fh) => {
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
      } finally {
        await fh.close();
      }
    });
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path); // atomic and exclusive: EEXIST when another run holds the folder
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioErrorOf(err, path) ?? err;
      }
      const owner = await readOwner(path);
      if (owner === 'gone') continue; // released meanwhile
      if (owner === null) {
        throw new FolderLockedError(abs, null, `holds a lock file ${LOCK_NAME} that is not a msccnet lock`, `if no run uses the folder, remove ${path}`);
      }
      const sameHost = owner.host === hostname();
      if (!sameHost || alive(owner) || attempt >= 3) {
        throw new FolderLockedError(
          abs,
          owner,
          `is in use by another run: ${ownerWords(owner)}`,
          sameHost
            ? `wait for it to end or stop it (kill ${owner.pid}), or pass another output folder`
            : `a lock from another host is never broken automatically: if that run is gone, remove ${path}`,
        );
      }
      await breakStale(path, owner);
    }
  } finally {
    await rm(tmp, { force: true });
  }
  held.set(path, me.token);
  hook();
  let released = false;
  return {
    dir: abs,
    path,
    release: async () => {
      if (released) return;
      released = true;
      held.delete(path);
      if (held.size === 0) unhook();
      const owner = await readOwner(path).catch(() => null);
      if (owner !== null && owner !== 'gone' && owner.token === me.token) await rm(path, { force: true });
    },
  };
}

/** Runs `fn` while holding the lock on `dir`; the lock is released however `fn` ends. */
export async function withFolderLock<T>(dir: string, fn: () => Promise<T>, command?: string): Promise<T> {
  const lock = await lockFolder(dir, command);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
