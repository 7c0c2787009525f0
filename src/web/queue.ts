/**
 * A bounded work queue: at most `concurrency` tasks run, at most `maxWaiting` more wait; a
 * request beyond that is refused at once (the server answers 503) instead of piling up memory.
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

/** A place in the queue, taken before the upload is read so that refused uploads cost nothing. */
export interface Ticket {
  /** Runs `task` when a worker is free; rejects with RequestTimeoutError once `deadline` (ms since epoch) passes. */
  run<T>(task: () => Promise<T>, deadline: number): Promise<T>;
  /** Gives the place back (idempotent); `run` does it when its task settles. */
  release(): void;
}

export class WorkQueue {
  #held = 0;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly concurrency: number, readonly maxWaiting: number) {}

  /** Takes a ticket, or throws QueueFullError when `concurrency + maxWaiting` are held. */
  enter(): Ticket {
    const capacity = this.concurrency + this.maxWaiting;
    if (this.#held >= capacity) throw new QueueFullError(capacity);
    this.#held++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#held--;
    };
    return {
      release,
      run: async <T>(task: () => Promise<T>, deadline: number): Promise<T> => {
        try {
          await this.#acquire(deadline);
        } catch (err) {
          release();
          throw err;
        }
        // The task itself cannot be interrupted (a model run is one native call); on timeout the
        // caller gets its answer and the worker stays busy until the task ends.
        const work = task().finally(() => { this.#running--; this.#next(); release(); });
        return withDeadline(work, deadline);
      },
    };
  }

  #acquire(deadline: number): Promise<void> {
    if (this.#running < this.concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const start = () => { clearTimeout(timer); this.#running++; resolve(); };
      const timer = setTimeout(() => {
        const i = this.#waiting.indexOf(start);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(new RequestTimeoutError(secondsLeft(deadline)));
      }, Math.max(0, deadline - Date.now()));
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
  work.catch(() => undefined);   // a task that fails after its timeout was answered must not become an unhandled rejection
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
