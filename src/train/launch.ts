/**
 * `--nproc N` on one machine, as torchrun does it: N copies of the same command, each told its
 * rank, the world size and the rendezvous address (and LOCAL_RANK; on a CUDA build rank r trains
 * on cuda:r). One rank that fails takes the others down
 * (none is left waiting in a collective): SIGTERM first, then SIGKILL after a grace period, as
 * torchrun does, because a rank blocked in a native collective never runs a JavaScript SIGTERM
 * handler (rank 0 has one: its folder lock's). Children whose launcher died stop on their own
 * (their IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { DistributedError } from './errors.js';

export interface LaunchOptions {
  readonly nproc: number;
  /** the entry script every worker runs (the CLI's own), with its Node flags */
  readonly script: string;
  readonly execArgv: readonly string[];
  /** the command's arguments; each worker gets `--rank r --world-size N --master-addr A --master-port P` appended */
  readonly args: readonly string[];
  readonly masterAddr: string;
  readonly masterPort: number;
  /** the config's `device` ('auto' when absent); rank r gets `--set device=cuda:r` when that is a GPU */
  readonly device?: string;
  /** GPUs on this machine (torch.cuda.deviceCount()) */
  readonly gpus?: number;
  readonly signal?: AbortSignal;
  /** after a rank failed, the others get SIGTERM, and SIGKILL this long after (default 30 s, torchrun's) */
  readonly killAfterMs?: number;
}

/**
 * The device of the rank with this LOCAL_RANK, as torchrun's convention: one GPU per process
 * (cuda:LOCAL_RANK) when the config asks for cuda, or for auto on a machine with GPUs; else the CPU.
 */
export function rankDevice(configured: string, localRank: number, nproc: number, gpus: number): string {
  if (configured === 'cpu' || (configured === 'auto' && gpus === 0)) return 'cpu';
  if (/^cuda:\d+$/.test(configured)) {
    if (nproc > 1) {
      throw new DistributedError(
        `device ${configured} names one GPU, and --nproc ${nproc} gives each rank its own`,
        'set device to cuda or auto (rank r trains on cuda:r)',
      );
    }
    return configured;
  }
  if (configured !== 'auto' && configured !== 'cuda') {
    throw new DistributedError(`device ${configured} is not auto, cpu, cuda or cuda:N`, 'fix the device field of the config');
  }
  if (localRank >= gpus) {
    throw new DistributedError(
      `rank ${localRank} would train on cuda:${localRank}, and this machine has ${gpus} GPU${gpus === 1 ? '' : 's'}`,
      gpus === 0 ? 'this addon sees no GPU: set device to cpu, or rebuild it against a CUDA libtorch (docs/gpu.md)' : `use --nproc ${gpus} or fewer`,
    );
  }
  return `cuda:${localRank}`;
}

/** This process's LOCAL_RANK (set by --nproc or torchrun); 0 when started alone. */
export function localRank(env: NodeJS.ProcessEnv = process.env): number {
  const r = Number(env.LOCAL_RANK ?? 0);
  return Number.isInteger(r) && r >= 0 ? r : 0;
}

/** The train config's `device` field ('auto' where the config has none). */
export function configuredDevice(config: object): string {
  const device = (config as { device?: unknown }).device;
  return typeof device === 'string' ? device : 'auto';
}

export interface WorkerExit {
  readonly rank: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A TCP port nothing listens on now (the OS's pick), for a one-machine rendezvous. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Removes `--name v` / `--name=v` from an argument list. */
export function withoutOption(args: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) i++;
    else if (!args[i].startsWith(`${name}=`)) out.push(args[i]);
  }
  return out;
}

/**
 * Runs the workers to the end. Resolves when every rank exited with 0; otherwise stops the
 * others (SIGTERM, then SIGKILL after `killAfterMs`) and rejects with a DistributedError naming
 * the rank that failed: one killed from outside before all others, since the ranks it leaves in a
 * collective then fail too, and may be reaped first.
 */
export async function launchWorkers(o: LaunchOptions): Promise<WorkerExit[]> {
  if (!Number.isInteger(o.nproc) || o.nproc < 1) {
    throw new DistributedError(`--nproc ${o.nproc} is not a positive integer`, 'pass the number of processes, e.g. --nproc 2');
  }
  // every rank's device before any starts: a rank without a GPU stops the launch, not one rank
  const devices = Array.from({ length: o.nproc }, (_, rank) => rankDevice(o.device ?? 'auto', rank, o.nproc, o.gpus ?? 0));
  const children: ChildProcess[] = [];
  const exits: (WorkerExit & { external: boolean })[] = [];
  let failed = false;
  let forced = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const running = (): ChildProcess[] => children.filter((c) => c.exitCode === null && c.signalCode === null);
  const stopAll = (signal: NodeJS.Signals): void => {
    for (const c of running()) c.kill(signal);
    killTimer ??= setTimeout(() => {
      forced = running().length;
      for (const c of running()) c.kill('SIGKILL');
    }, o.killAfterMs ?? 30_000);
  };
  const onAbort = (): void => stopAll('SIGINT');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve) => {
      for (let rank = 0; rank < o.nproc; rank++) {
        const device = devices[rank];
        const child = fork(
          o.script,
          [
            ...o.args,
            ...(device === 'cpu' ? [] : ['--set', `device=${device}`]),
            '--rank',
            String(rank),
            '--world-size',
            String(o.nproc),
            '--master-addr',
            o.masterAddr,
            '--master-port',
            String(o.masterPort),
          ],
          { execArgv: [...o.execArgv], stdio: 'inherit', env: { ...process.env, LOCAL_RANK: String(rank) } },
        );
        children.push(child);
        child.once('exit', (code, signal) => {
          // a signal before the launcher sent any came from outside (kill -9, the out-of-memory killer)
          exits.push({ rank, code, signal, external: signal !== null && killTimer === undefined });
          if ((code !== 0 || signal !== null) && !failed) {
            failed = true;
            stopAll('SIGTERM');
          }
          if (exits.length === o.nproc) resolve();
        });
      }
    });
  } finally {
    clearTimeout(killTimer);
    o.signal?.removeEventListener('abort', onAbort);
  }
  const failures = exits.filter((e) => e.code !== 0 || e.signal !== null);
  const f = failures.find((e) => e.external) ?? failures[0];
  if (f !== undefined) {
    const how = f.signal !== null ? `was killed by ${f.signal}` : `exited with code ${f.code}`;
    const others = forced > 0 ? `; ${forced} other rank(s) ignored SIGTERM and were killed` : '; the other ranks were stopped';
    const resume = 'rerun with --resume to continue from the last checkpoint';
    throw new DistributedError(
      `rank ${f.rank} of ${o.nproc} ${how}${others}`,
      o.signal?.aborted
        ? `interrupted; ${resume}`
        : f.external
          ? `it was killed from outside the run (kill, or the out-of-memory killer: see dmesg); ${resume}`
          : `see rank ${f.rank}'s error above; ${resume}`,
    );
  }
  return exits.map(({ rank, code, signal }) => ({ rank, code, signal })).sort((a, b) => a.rank - b.rank);
}
