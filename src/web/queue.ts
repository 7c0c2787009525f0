/**
 * A bounded work queue: at most `concurrency` tasks run, at most `maxWaiting` more wait; a
 * request beyond that is refused at once (the server answers 503) instead of piling up memory.
 * A place is taken only for a complete, checked upload (a slow client holds no place), and a
 * waiting request whose client went away leaves the queue before its model run.
 */
import { MsccnetError } from '../errors.js';

/** The queue is full: the caller should retry later. */
export class QueueFullError extends MsccnetError {
  constructor(readonly capacity: number) {
    super('MSCCNET_BUSY', `the server is busy (${capacity} requests in progress or waiting)`, 'retry in a few seconds, or run the check in your browser');
  }
}

/** A request did not finish within its time limit. */
export class RequestTimeoutError extends MsccnetError {
  constructor(readonly seconds: number) {
    super('MSCCNET_TIMEOUT', `the check took longer than ${seconds} s`, 'retry with a smaller image, or run the check in your browser');
  }
}

/** The client closed its connection while its request waited: nothing to answer, nothing to compute. */
export class RequestAbortedError extends MsccnetError {
  constructor() {
    super('MSCCNET_ABORTED', 'the client closed the connection before its check started', 'nothing to do: the request was dropped');
  }
}

export class WorkQueue {
  #held = 0;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
  ) {}

  /** Requests running or waiting now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Runs `task` when a worker is free. Throws QueueFullError at once when `concurrency + maxWaiting`
   * are held; rejects with RequestTimeoutError once `deadline` (ms since epoch) passes, and with
   * RequestAbortedError (without running the task) when `signal` aborts while it waits.
   */
  async run<T>(task: () => Promise<T>, deadline: number, signal?: AbortSignal): Promise<T> {
    const capacity = this.concurrency + this.maxWaiting;
    if (this.#held >= capacity) throw new QueueFullError(capacity);
    if (signal?.aborted) throw new RequestAbortedError();
    this.#held++;
    try {
      await this.#acquire(deadline, signal);
    } catch (err) {
      this.#held--;
      throw err;
    }
    // The task itself cannot be interrupted (a model run is one native call); on timeout the
    // caller gets its answer and the worker stays busy until the task ends.
    const work = task().finally(() => {
      this.#running--;
      this.#held--;
      this.#next();
    });
    return withDeadline(work, deadline);
  }

  #acquire(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#running < this.concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const leave = (err: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = this.#waiting.indexOf(start);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(err);
      };
      const onAbort = (): void => leave(new RequestAbortedError());
      const start = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#running++;
        resolve();
      };
      const timer = setTimeout(() => leave(new RequestTimeoutError(secondsLeft(deadline))), Math.max(0, deadline - Date.now()));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(start);
    });
  }

  #next(): void {
    this.#waiting.shift()?.();
  }
}

function secondsLeft(deadline: number): number {
  return Math.max(0, Math.round((deadline - Date.now()) / 1000));
}

function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RequestTimeoutError(secondsLeft(deadline))), Math.max(0, deadline - Date.now()));
  });
  work.catch(() => undefined); // a task that fails after its timeout was answered must not become an unhandled rejection
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
