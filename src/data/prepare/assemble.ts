/** The run's outputs from the finished job records: manifest, split lists and report, in plan order. */
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { REFERENCE_DROPPED } from '../layout.js';
import { compareEntries, formatManifest, type ManifestEntry } from '../manifest.js';
import { optionsKey, type PrepareOptions } from './options.js';
import type { Plan } from './plan.js';
import { finishedRecord, type Skip } from './job.js';

/** The run's summary: `report.json` beside the manifest. */
export interface PrepareReport {
  optionsKey: string;
  options: PrepareOptions;
  jobs: number;
  crops: number;
  fakeCrops: number;
  masks: number;
  droppedSplitNames: string[];
  failedJobs: Array<{ id: string; error: string }>;
  skipped: Array<Skip & { job: string }>;
}

/**
 * Writes `manifest.jsonl`, `report.json` and the split lists from the finished job records, in
 * plan order, so the bytes depend only on the inputs and options (never on timing or workers).
 */
export async function assembleOutputs(
  plan: Plan,
  outDir: string,
  opts: PrepareOptions,
  failed: ReadonlyMap<string, string> = new Map(),
): Promise<PrepareReport> {
  const key = optionsKey(opts);
  const entries: ManifestEntry[] = [];
  const skipped: PrepareReport['skipped'] = [];
  const failedJobs: PrepareReport['failedJobs'] = [];
  for (const job of plan.jobs) {
    const rec = await finishedRecord(outDir, job, key);
    if (!rec) {
      failedJobs.push({ id: job.id, error: failed.get(job.id) ?? 'not finished' });
      skipped.push({ job: job.id, video: `youtube/${job.id}`, reason: `job failed: ${failed.get(job.id) ?? 'not finished'}` });
      continue;
    }
    entries.push(...rec.entries);
    skipped.push(...rec.skipped.map((s) => ({ job: job.id, ...s })));
  }
  entries.sort(compareEntries);
  await writeFileAtomic(join(outDir, 'manifest.jsonl'), formatManifest(entries));
  if (plan.splitNames) {
    for (const [split, names] of Object.entries(plan.splitNames)) await writeFileAtomic(join(outDir, 'splits', `${split}.txt`), names.join('\n'));
  }
  const report: PrepareReport = {
    optionsKey: key,
    options: opts,
    jobs: plan.jobs.length,
    crops: entries.length,
    fakeCrops: entries.filter((e) => e.label === 1).length,
    masks: new Set(entries.flatMap((e) => (e.mask ? [e.mask] : []))).size,
    droppedSplitNames: plan.dropped.map(
      (n) => `${n} (${Object.entries(REFERENCE_DROPPED).find(([, v]) => v === n)?.[0] ?? '?'}; absent from the reference lists)`,
    ),
    failedJobs,
    skipped,
  };
  await writeFileAtomic(join(outDir, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
  return report;
}
