import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ArgumentError } from '../errors.js';
import { ensureWritableDir, removeStaleTemps, writeFileAtomic } from '../io/atomic.js';
import { DEFAULT_MAX_PIXELS } from '../image/index.js';
import { runPool, ThreadPool } from '../jobs/pool.js';
import { spawnModuleWorker } from '../jobs/threads.js';
import type { AnnotationOptions, AnnotationOptionsInput } from './options.js';
import { annotationOptions } from './options.js';
import type { PairOutcome, PairRecord, PairTask } from './files.js';
import type { Pair } from './pairs.js';
import type { SkipReason } from './annotate.js';

/** Progress of a batch, for a bar, a queue job or a log. `reused`: the outputs were already there. */
export type AnnotateEvent =
  | { readonly kind: 'start'; readonly total: number; readonly workers: number }
  | { readonly kind: 'pair'; readonly done: number; readonly total: number; readonly record: PairRecord; readonly reused: boolean }
  | { readonly kind: 'finished'; readonly summary: AnnotateSummary; readonly reused: number; readonly seconds: number };

export interface AnnotateSummary {
  readonly pairs: number;
  readonly annotated: number;
  readonly skipped: number;
  readonly skippedBy: Partial<Record<SkipReason, number>>;
}

/** The JSON report of a batch: deterministic for given inputs (a resumed run writes the same report). */
export interface AnnotateReport {
  readonly annotation: AnnotationOptions;
  readonly summary: AnnotateSummary;
  readonly pairs: readonly PairRecord[];
}

export interface AnnotatePairsOptions {
  /** Folder of the masks: each pair's mask goes to `<out>/<pair.output>`. */
  out: string;
  /** Folder of the diff maps (uint8(255·fake·factor), as the reference writes them); none when absent. */
  diffDir?: string;
  /** Where the JSON report goes; default `<out>/annotate-report.json`. */
  reportFile?: string;
  /** Worker threads; default the number of cores, and at most that unless `forceWorkers`. */
  workers?: number;
  /** Allow more workers than cores (each holds its pairs' images; more than the cores only adds memory). */
  forceWorkers?: boolean;
  /** Inputs with more pixels are skipped as `too-large` without being decoded (default 40e6, as `serve`). */
  maxPixels?: number;
  /** Recompute pairs whose outputs exist (default false: a rerun resumes). */
  overwrite?: boolean;
  annotation?: AnnotationOptionsInput;
  onProgress?: (event: AnnotateEvent) => void;
  /** Stops handing out pairs; pairs in flight finish (their files stay whole), then the call rejects. */
  signal?: AbortSignal;
}

export const DEFAULT_REPORT_NAME = 'annotate-report.json';

/**
 * Paper Fig. 3 over many pairs on a pool of worker threads. Writes each mask atomically, skips pairs whose
 * outputs exist, records every pair (annotated or skipped, with the reason), writes the report atomically,
 * and prints nothing. One bad pair never stops the batch.
 */
export async function annotatePairs(pairs: readonly Pair[], options: AnnotatePairsOptions): Promise<AnnotateReport> {
  const annotation = annotationOptions(options.annotation);
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw new ArgumentError('workers', 'a positive integer', workers);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) throw new ArgumentError('maxPixels', 'a positive number', maxPixels);
  const outDir = resolve(options.out);
  const diffDir = options.diffDir === undefined ? null : resolve(options.diffDir);
  if (diffDir === outDir) {
    throw new ArgumentError('diffDir', "a folder apart from the masks' folder", diffDir, "diff maps have the masks' names: pass another --diff folder");
  }
  // Two pairs with one output would write (and, resumed, reuse) each other's mask: refuse before any work.
  const byOutput = new Map<string, number>();
  const clashes: string[] = [];
  for (const p of pairs) {
    const key = p.output.toLowerCase(); // one file on a case-insensitive file system
    byOutput.set(key, (byOutput.get(key) ?? 0) + 1);
    if (byOutput.get(key) === 2) clashes.push(p.output);
  }
  if (clashes.length > 0) {
    throw new ArgumentError(
      'pairs',
      'one output name per pair',
      `${clashes.length} names used more than once (${clashes.slice(0, 3).join(', ')}${clashes.length > 3 ? ', …' : ''})`,
      'give every pair its own output name in the pair list',
    );
  }
  await ensureWritableDir(outDir);
  if (diffDir !== null) await ensureWritableDir(diffDir);
  // temps of a killed run (each writer names its own, so they are never reused): one batch writes here at a time
  await removeStaleTemps(outDir);
  if (diffDir !== null) await removeStaleTemps(diffDir);
  const reportFile = options.reportFile === undefined ? join(outDir, DEFAULT_REPORT_NAME) : resolve(options.reportFile);
  // Masks are named like the fakes, so an output folder that is the input folder would overwrite them.
  for (const dir of diffDir === null ? [outDir] : [outDir, diffDir]) {
    const clash = pairs.find((p) => [resolve(p.real), resolve(p.fake)].includes(join(dir, p.output)));
    if (clash !== undefined) {
      throw new ArgumentError(
        'out',
        'a folder apart from the input frames',
        dir,
        `${join(dir, clash.output)} is an input image; write masks to another folder (e.g. a sibling Mask/)`,
      );
    }
  }
  const t0 = performance.now();
  const records = new Array<PairRecord>(pairs.length);
  let done = 0,
    reusedCount = 0;
  const poolSize = Math.max(1, Math.min(options.forceWorkers ? workers : Math.min(workers, availableParallelism()), pairs.length));
  options.onProgress?.({ kind: 'start', total: pairs.length, workers: poolSize });

  if (pairs.length > 0) {
    const threads = new ThreadPool<PairTask, PairOutcome>({
      size: poolSize,
      perWorker: PAIRS_PER_WORKER,
      signal: options.signal,
      spawn: () => spawnModuleWorker(import.meta.url, 'worker'),
      died: ({ pair }, why) => ({ record: { ...pair, status: 'skipped', reason: 'failed', message: `worker died: ${why}` }, reused: false }),
    });
    try {
      const results = await runPool(
        pairs,
        poolSize * PAIRS_PER_WORKER,
        async (pair, i) => {
          const outcome = await threads.run({ pair, outDir, diffDir, overwrite: options.overwrite ?? false, annotation, maxPixels });
          records[i] = outcome.record;
          done++;
          if (outcome.reused) reusedCount++;
          options.onProgress?.({ kind: 'pair', done, total: pairs.length, record: outcome.record, reused: outcome.reused });
        },
        options.signal,
      );
      const failed = results.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason; // a broken install (bad pairs are records, never rejections)
    } finally {
      threads.close();
    }
  }

  const skippedBy: Partial<Record<SkipReason, number>> = {};
  for (const r of records) if (r.status === 'skipped') skippedBy[r.reason] = (skippedBy[r.reason] ?? 0) + 1;
  const annotated = records.filter((r) => r.status === 'annotated').length;
  const summary: AnnotateSummary = { pairs: pairs.length, annotated, skipped: pairs.length - annotated, skippedBy };
  const report: AnnotateReport = { annotation, summary, pairs: records };
  await writeFileAtomic(reportFile, `${JSON.stringify(report, null, 1)}\n`);
  options.onProgress?.({ kind: 'finished', summary, reused: reusedCount, seconds: (performance.now() - t0) / 1000 });
  return report;
}

/**
 * Pairs handed to a worker at once. With two, a worker never waits for the main thread to send the next pair
 * after reporting one, and computes one pair while another's files are read or written.
 */
const PAIRS_PER_WORKER = 2;
