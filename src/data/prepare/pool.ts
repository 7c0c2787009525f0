import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MsccnetError } from '../../errors.js';
import {
  assembleOutputs,
  finishedRecord,
  optionsKey,
  parsePrepareOptions,
  planPrepare,
  processJob,
  removeStaleTemps,
  type PrepareEvent,
  type PrepareOptions,
  type PrepareReport,
  type PrepareStage,
  type PrepareJob,
} from './prepare.js';
import { loadFaceDetector } from '../faces.js';
import { loadAnnotator } from '../masks.js';
import { runPool } from '../../jobs/pool.js';
import { enqueuePrepare, openQueue, waitForJobs, type EnqueueOptions } from './queue.js';

export interface RunPrepareOptions extends Partial<PrepareOptions> {
  /** FF++ download folder. */
  ffpp: string;
  /** Output folder (crops, masks, jobs/, manifest.jsonl, report.json, splits/). */
  out: string;
  /** Folder with train/val/test.json; default `<ffpp>/splits` when present, else every original unsplit. */
  splits?: string | null;
  /** Drop the three pairs the reference lists lack (official-spec §8.2). */
  dropReferenceMissing?: boolean;
  /** Local jobs in flight (default 2). */
  concurrency?: number;
  /** Distribute through BullMQ on this Redis instead of the local pool; `msccnet worker` processes. */
  redis?: string;
  queue?: string;
  retry?: EnqueueOptions;
  /** Also rerun the jobs that finished with unreadable inputs or failed frames (default: only unfinished or changed ones). */
  retryFailed?: boolean;
  onProgress?: (e: PrepareEvent) => void;
  signal?: AbortSignal;
}

/**
 * The whole pipeline: plan jobs (one per original with its fakes), run the unfinished ones on the
 * local pool or through the queue, then write the manifest and report from the job records.
 */
export async function runPrepare(o: RunPrepareOptions): Promise<PrepareReport> {
  const { ffpp, out, splits, dropReferenceMissing, concurrency, redis, queue, retry, retryFailed, onProgress, signal, ...rest } = o;
  const options = parsePrepareOptions(rest);
  const key = optionsKey(options);
  const splitsDir = splits !== undefined ? splits : existsSync(join(ffpp, 'splits', 'train.json')) ? join(ffpp, 'splits') : null;
  const plan = await planPrepare(ffpp, splitsDir, { ...options, dropReferenceMissing: dropReferenceMissing ?? false });
  const todo: PrepareJob[] = [];
  for (const job of plan.jobs) if (!(await finishedRecord(out, job, key, { retryFailed }))) todo.push(job);
  onProgress?.({ kind: 'planned', jobs: plan.jobs.length, finished: plan.jobs.length - todo.length, estimate: estimate(todo, options) });

  const failed = new Map<string, string>();
  if (redis === undefined) {
    await removeStaleTemps(out); // only this process writes here
    const [detector, annotate] = await Promise.all([loadFaceDetector({ minConfidence: options.minConfidence }), loadAnnotator()]);
    const results = await runPool(todo, concurrency ?? 2, (job) => processJob(job, out, options, { detector, annotate, onProgress, retryFailed }), signal);
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') {
        const id = todo[i]!.id;
        const error = r.reason instanceof Error ? r.reason.message : String(r.reason);
        failed.set(id, error);
        onProgress?.({ kind: 'job', job: id, outcome: 'failed', skipped: 0, error });
        if (!(r.reason instanceof MsccnetError)) throw r.reason; // a bug or a full disk: stop, rerun resumes
      }
    }
  } else {
    const q = await openQueue({ url: redis, queue });
    try {
      const ids = await enqueuePrepare(q, todo, out, options, key, { ...retry, retryFailed });
      const outcomes = await waitForJobs(q, ids, {
        signal,
        onProgress,
        onSettled: (id, oc) => {
          if (oc.state === 'failed') onProgress?.({ kind: 'job', job: id, outcome: 'failed', skipped: 0, error: oc.reason });
        },
      });
      for (const [i, id] of ids.entries()) {
        const oc = outcomes.get(id);
        if (oc?.state === 'failed') failed.set(todo[i]!.id, oc.reason);
      }
    } finally {
      await q.close();
    }
    await removeStaleTemps(out); // every job is settled: only a killed worker's leftovers remain
  }
  return assembleOutputs(plan, out, options, failed);
}

/** Upper bounds of each stage's items for the jobs left, so progress bars have totals. */
function estimate(jobs: readonly PrepareJob[], o: PrepareOptions): Record<PrepareStage, number> {
  const e: Record<PrepareStage, number> = { probe: 0, detect: 0, crop: 0, mask: 0 };
  for (const j of jobs) {
    e.probe += Object.keys(j.original).length + j.fakes.reduce((n, f) => n + Object.keys(f.videos).length, 0);
    e.detect += o.frames;
    e.crop +=
      o.frames * o.compressions.filter((c) => j.original[c]).length +
      o.frames * j.fakes.reduce((n, f) => n + o.compressions.filter((c) => f.videos[c]).length, 0);
    e.mask += o.frames * j.fakes.length;
  }
  return e;
}
