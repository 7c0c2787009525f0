import type { Worker } from 'node:worker_threads';

/**
 * Runs `fn` over `items` with at most `concurrency` in flight, in item order. Failures are
 * collected, not thrown, so one bad item never stops the others. An abort stops starting new
 * items; running ones finish, then the call rejects with the abort's reason.
 */
export async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<Array<PromiseSettledResult<R>>> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !signal?.aborted) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i] as T, i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  signal?.throwIfAborted();
  return results;
}

/** What a {@link ThreadPool} posts to a worker. */
export interface ThreadRequest<T> {
  readonly id: number;
  readonly task: T;
}
/** What a worker posts back: `'ready'` once loaded, then one reply per request. */
export type ThreadReply<R> = 'ready' | { readonly id: number; readonly outcome: R };

export interface ThreadPoolOptions<T, R> {
  /** workers alive at once */
  readonly size: number;
  /** tasks on one worker at once: with 2, a worker never idles while the main thread sends its next task */
  readonly perWorker: number;
  /** starts a worker that speaks {@link ThreadRequest} / {@link ThreadReply} */
  spawn(): Worker;
  /** the outcome of a task that killed its worker while alone on it */
  died(task: T, why: string): R;
  /** after an abort, waiting tasks reject with its reason; tasks on a worker finish */
  readonly signal?: AbortSignal;
}

/** A task waiting for a worker, or on one. */
interface Pending<T, R> {
  readonly task: T;
  resolve(outcome: R): void;
  reject(err: unknown): void;
}

/** `alone`: running a rerun, which gets the worker to itself. */
interface Thread<T, R> {
  readonly worker: Worker;
  readonly held: Map<number, Pending<T, R>>;
  ready: boolean;
  alone: boolean;
}

/**
 * Worker threads for tasks that may kill their worker (hostile input, native crashes); feed it from
 * {@link runPool} with `size × perWorker` lanes. A worker that dies is replaced: if it held one task,
 * that task's outcome is `died(task)`; if it held several, they are rerun one by one, each alone on
 * its worker, so a task that kills a worker again fails on its own and the others complete. A worker
 * that dies before it has loaded means a broken install: every task then rejects with its error.
 */
export class ThreadPool<T, R> {
  private readonly threads = new Set<Thread<T, R>>();
  private readonly waiting: Array<Pending<T, R>> = [];
  private readonly reruns: Array<Pending<T, R>> = [];
  private nextId = 0;
  private broken: unknown = null;
  private closed = false;

  constructor(private readonly options: ThreadPoolOptions<T, R>) {
    options.signal?.addEventListener('abort', () => this.pump(), { once: true });
  }

  run(task: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ task, resolve, reject });
      this.pump();
    });
  }

  /** Terminates every worker (tasks still on one never settle: call it once they are done). */
  close(): void {
    this.closed = true;
    for (const t of this.threads) void t.worker.terminate();
  }

  private pump(): void {
    const { signal, size, perWorker } = this.options;
    const stop = this.broken !== null ? this.broken : signal?.aborted ? (signal.reason as unknown) : null;
    if (stop !== null) {
      for (const p of [...this.reruns.splice(0), ...this.waiting.splice(0)]) p.reject(stop);
      return;
    }
    while (this.threads.size < size && this.waiting.length + this.reruns.length > 0) this.start();
    for (const t of this.threads) {
      if (!t.ready || t.alone) continue;
      if (this.reruns.length > 0) {
        // a rerun waits for an idle worker, and holds back new tasks so one drains
        if (t.held.size === 0) {
          t.alone = true;
          this.send(t, this.reruns.shift() as Pending<T, R>);
        }
        continue;
      }
      while (t.held.size < perWorker && this.waiting.length > 0) this.send(t, this.waiting.shift() as Pending<T, R>);
    }
  }

  private send(t: Thread<T, R>, p: Pending<T, R>): void {
    const id = this.nextId++;
    t.held.set(id, p);
    t.worker.postMessage({ id, task: p.task } satisfies ThreadRequest<T>);
  }

  private start(): void {
    const t: Thread<T, R> = { worker: this.options.spawn(), held: new Map(), ready: false, alone: false };
    this.threads.add(t);
    t.worker.on('message', (reply: ThreadReply<R>) => {
      if (reply === 'ready') {
        t.ready = true;
      } else {
        const p = t.held.get(reply.id);
        t.held.delete(reply.id);
        if (t.held.size === 0) t.alone = false;
        p?.resolve(reply.outcome);
      }
      this.pump();
    });
    // A worker that dies (error, or exit without one) is handled once.
    const lost = (why: string, err?: Error): void => {
      if (this.closed || !this.threads.delete(t)) return;
      const held = [...t.held.values()];
      if (!t.ready) {
        // could not even load: a broken install, not bad input
        this.broken = err ?? new Error(why);
      } else if (held.length === 1) {
        held[0]!.resolve(this.options.died(held[0]!.task, why));
      } else {
        this.reruns.push(...held);
      }
      this.pump();
    };
    t.worker.on('error', (err) => lost(err.message, err));
    t.worker.on('exit', (code) => lost(`exit code ${code}`));
  }
}
