import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { MsccnetError } from '../../errors.js';
import { loadFaceDetector } from '../faces.js';
import { loadAnnotator } from '../masks.js';
import { processJob, type JobRecord, type PrepareEvent, type PrepareJob, type PrepareOptions } from './prepare.js';

export const DEFAULT_QUEUE = 'msccnet-prepare';

/** What a queued job carries: everything a worker on another machine needs (paths must be shared). */
export interface PrepareJobData {
  job: PrepareJob;
  outDir: string;
  options: PrepareOptions;
  /** rerun the job even when it finished, if it finished with failures */
  retryFailed?: boolean;
}
/** A finished job returns the count of its crops and skips, not the whole record (Redis stays small). */
export interface PrepareJobResult {
  crops: number;
  skipped: number;
}

export interface QueueConnection {
  /** redis://host:port[/db] */
  url: string;
  queue?: string;
  /** how long to wait for an unreachable Redis, at start and after a lost connection, before giving up (default 15 s) */
  retrySeconds?: number;
}

const DEFAULT_RETRY_SECONDS = 15;

/**
 * ioredis options: BullMQ workers require maxRetriesPerRequest null; reconnection backs off 1…5 s
 * and stops once `retrySeconds` of waits add up (BullMQ's default retries forever, which keeps a
 * process that can no longer work alive).
 */
const connection = (c: QueueConnection) => ({
  url: c.url,
  maxRetriesPerRequest: null,
  retryStrategy: (times: number): number | null => {
    let waited = 0;
    for (let k = 1; k < times; k++) waited += Math.min(1000 * k, 5000);
    const delay = Math.min(1000 * times, 5000);
    return waited + delay > (c.retrySeconds ?? DEFAULT_RETRY_SECONDS) * 1000 ? null : delay;
  },
});

export interface EnqueueOptions {
  /** Attempts per job for infrastructure failures (bad input is never retried). */
  attempts?: number;
  /** First retry delay, doubled on each retry. */
  backoffMs?: number;
  /** Rerun jobs that finished with failures (`prepare --retry-failed`). */
  retryFailed?: boolean;
}

/** A BullMQ job id per (options, original): adding the same job twice is a no-op. */
const queueJobId = (optionsKey: string, id: string): string => `${optionsKey}-${id}`;

/** Redis did not answer: a wrong URL or no server. */
export class QueueConnectionError extends MsccnetError {
  constructor(url: string, seconds: number, options?: ErrorOptions) {
    super(
      'MSCCNET_REDIS',
      `no Redis answered at ${url} within ${seconds} s`,
      'start redis-server there (Debian: apt-get install redis-server) or fix --redis',
      options,
    );
  }
}

/** Waits for a BullMQ client to connect; ioredis would otherwise retry silently forever. */
async function ready(client: { waitUntilReady(): Promise<unknown>; disconnect(): Promise<void> }, url: string, seconds: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueConnectionError(url, seconds)), seconds * 1000);
  });
  try {
    await Promise.race([client.waitUntilReady(), timeout]);
  } catch (err) {
    // not awaited: disconnecting waits for a connection that never comes; the bounded retries end it
    void client.disconnect().catch(() => undefined);
    throw err instanceof QueueConnectionError ? err : new QueueConnectionError(url, seconds, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Rejects with QueueConnectionError once Redis has stayed unreachable for `seconds`, checked with a
 * PING every `seconds / 6` on a connection of its own (a BullMQ worker hides its client, and
 * ioredis reconnecting in the background would otherwise keep a useless worker waiting forever).
 * Call `stop` when the worker closes normally.
 */
export function watchConnection(url: string, seconds: number): { lost: Promise<never>; stop: () => void } {
  const every = (seconds * 1000) / 6;
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => every, lazyConnect: false });
  redis.on('error', () => undefined); // a failed PING tells the story
  let timer: NodeJS.Timeout | undefined;
  let failingSince: number | null = null;
  const stop = (): void => {
    clearTimeout(timer);
    redis.disconnect();
  };
  const lost = new Promise<never>((_, reject) => {
    const check = async (): Promise<void> => {
      const ok = await redis.ping().then(
        () => true,
        () => false,
      );
      if (ok) failingSince = null;
      else failingSince ??= Date.now();
      if (failingSince !== null && Date.now() - failingSince >= seconds * 1000) {
        stop();
        reject(new QueueConnectionError(url, seconds));
        return;
      }
      timer = setTimeout(() => void check(), every);
    };
    timer = setTimeout(() => void check(), every);
  });
  lost.catch(() => undefined);
  return { lost, stop };
}

export async function openQueue(c: QueueConnection): Promise<Queue<PrepareJobData, PrepareJobResult>> {
  const queue = new Queue<PrepareJobData, PrepareJobResult>(c.queue ?? DEFAULT_QUEUE, { connection: connection(c) });
  queue.on('error', () => undefined); // connection errors surface through ready() and the calls that fail
  await ready(queue, c.url, c.retrySeconds ?? DEFAULT_RETRY_SECONDS);
  return queue;
}

/**
 * Enqueues the jobs not yet finished. A job left completed or failed in Redis by an earlier run
 * is removed and added again (its outputs decide what is redone: finished records are reused).
 */
export async function enqueuePrepare(
  queue: Queue<PrepareJobData, PrepareJobResult>,
  jobs: readonly PrepareJob[],
  outDir: string,
  options: PrepareOptions,
  optionsKey: string,
  eo: EnqueueOptions = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (const job of jobs) {
    const jobId = queueJobId(optionsKey, job.id);
    const state = await queue.getJobState(jobId);
    if (state === 'completed' || state === 'failed') await queue.remove(jobId);
    await queue.add(
      'video',
      { job, outDir, options, retryFailed: eo.retryFailed },
      {
        jobId,
        attempts: eo.attempts ?? 3,
        backoff: { type: 'exponential', delay: eo.backoffMs ?? 2000 },
        removeOnComplete: false,
        removeOnFail: false,
      },
    );
    ids.push(jobId);
  }
  return ids;
}

export type QueueOutcome = { state: 'completed' } | { state: 'failed'; reason: string };

/**
 * Waits until every job id is completed or failed (after its retries), polling Redis, and reports
 * workers' progress events. Returns each job's outcome.
 */
export async function waitForJobs(
  queue: Queue<PrepareJobData, PrepareJobResult>,
  ids: readonly string[],
  opts: { pollMs?: number; signal?: AbortSignal; onProgress?: (e: PrepareEvent) => void; onSettled?: (id: string, o: QueueOutcome) => void } = {},
): Promise<Map<string, QueueOutcome>> {
  const outcomes = new Map<string, QueueOutcome>();
  const seen = new Map<string, number>(); // events already forwarded per job, from its progress log
  while (outcomes.size < ids.length) {
    opts.signal?.throwIfAborted();
    for (const id of ids) {
      if (outcomes.has(id)) continue;
      const job = await queue.getJob(id);
      if (!job) {
        outcomes.set(id, { state: 'failed', reason: 'job vanished from the queue' });
        continue;
      }
      const progress = job.progress as { events?: PrepareEvent[] } | number;
      const events = typeof progress === 'object' && Array.isArray(progress.events) ? progress.events : [];
      // Progress writes can land out of order; only ever forward events past the most seen.
      const already = seen.get(id) ?? 0;
      for (const e of events.slice(already)) opts.onProgress?.(e);
      seen.set(id, Math.max(already, events.length));
      const state = await job.getState();
      if (state === 'completed') outcomes.set(id, { state });
      else if (state === 'failed') outcomes.set(id, { state, reason: job.failedReason || 'failed' });
      const o = outcomes.get(id);
      if (o) opts.onSettled?.(id, o);
    }
    if (outcomes.size < ids.length) await new Promise((r) => setTimeout(r, opts.pollMs ?? 300));
  }
  return outcomes;
}

export interface WorkerOptions extends QueueConnection {
  /** Jobs in flight in this process. */
  concurrency?: number;
  /** Lock time; a worker that stops renewing it (killed) has its job retried after this. */
  lockMs?: number;
  /** How often this worker looks for stalled jobs of dead workers. */
  stalledIntervalMs?: number;
  onEvent?: (e: PrepareEvent | { kind: 'started'; job: string; attempt: number } | { kind: 'failed'; job: string; error: string }) => void;
}

/**
 * A BullMQ worker running `processJob`. Typed msccnet errors (bad input, bad options) fail the job
 * without retries; anything else is retried with backoff. A job whose worker died (lock expired)
 * is picked up again by any live worker. Close the returned worker to stop.
 */
export async function startPrepareWorker(o: WorkerOptions): Promise<Worker<PrepareJobData, PrepareJobResult>> {
  const [detector, annotate] = await Promise.all([loadFaceDetector(), loadAnnotator()]);
  const worker = new Worker<PrepareJobData, PrepareJobResult>(
    o.queue ?? DEFAULT_QUEUE,
    async (job: Job<PrepareJobData, PrepareJobResult>) => {
      const events: PrepareEvent[] = [];
      o.onEvent?.({ kind: 'started', job: job.data.job.id, attempt: job.attemptsMade + 1 });
      let rec: JobRecord;
      try {
        rec = await processJob(job.data.job, job.data.outDir, job.data.options, {
          retryFailed: job.data.retryFailed,
          detector,
          annotate,
          onProgress: (e) => {
            events.push(e);
            o.onEvent?.(e);
            void job.updateProgress({ events }).catch(() => undefined);
          },
        });
      } catch (err) {
        o.onEvent?.({ kind: 'failed', job: job.data.job.id, error: err instanceof Error ? err.message : String(err) });
        if (err instanceof MsccnetError) throw new UnrecoverableError(err.message);
        throw err;
      }
      await job.updateProgress({ events });
      return { crops: rec.entries.length, skipped: rec.skipped.length };
    },
    {
      connection: connection(o),
      concurrency: o.concurrency ?? 1,
      autorun: false, // run only once connected: the run loop retries forever
      lockDuration: o.lockMs ?? 30_000,
      stalledInterval: o.stalledIntervalMs ?? o.lockMs ?? 30_000,
      maxStalledCount: 2,
    },
  );
  worker.on('error', () => undefined); // ioredis reconnects by itself; failures of jobs are reported per job
  await ready(worker, o.url, o.retrySeconds ?? DEFAULT_RETRY_SECONDS);
  void worker.run().catch(() => undefined); // ends when the worker closes; job failures are reported per job
  return worker;
}
