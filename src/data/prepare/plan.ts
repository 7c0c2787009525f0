/** The plan of a prepare run: one job per original video with all its fakes, and where each job's outputs go. */
import { join } from 'node:path';
import { readSplits, scanFfpp, targetOf, type Compression, type FfppTree, type Method, type Renditions, type Split } from '../layout.js';
import type { PrepareOptions } from './options.js';

/** One job = one original video with all its fakes (JSON: it travels through the queue). */
export interface PrepareJob {
  id: string;
  split: Split;
  original: Renditions;
  fakes: Array<{ method: Method; name: string; videos: Renditions }>;
  /** Fakes the split lists name but the download lacks. */
  missing: Array<{ method: Method; name: string }>;
}

export interface Plan {
  jobs: PrepareJob[];
  /** Split names removed by dropReferenceMissing (named in the report). */
  dropped: string[];
  splitNames: Record<string, string[]> | null;
}

/**
 * Jobs for an FF++ tree: one per original that is the target of a listed fake (with splits),
 * or per original on disk (without). Jobs come sorted by id, which fixes every output order.
 */
export async function planPrepare(ffppRoot: string, splitsDir: string | null, opts: PrepareOptions & { dropReferenceMissing?: boolean }): Promise<Plan> {
  const tree = await scanFfpp(ffppRoot);
  if (splitsDir === null) {
    const names = new Set<string>();
    for (const byName of tree.fakes.values()) for (const n of byName.keys()) names.add(n);
    const jobs = [...tree.originals.keys()].sort().map((id) =>
      jobFor(
        tree,
        id,
        'unsplit',
        [...names].filter((n) => targetOf(n) === id),
        opts.methods,
      ),
    );
    return { jobs, dropped: [], splitNames: null };
  }
  const lists = await readSplits(splitsDir, { dropReferenceMissing: opts.dropReferenceMissing ?? false });
  const byTarget = new Map<string, { split: Split; names: string[] }>();
  for (const [split, names] of Object.entries(lists.names) as Array<[Split, string[]]>) {
    for (const n of names) {
      const t = targetOf(n);
      const e = byTarget.get(t) ?? { split, names: [] };
      e.names.push(n);
      byTarget.set(t, e);
    }
  }
  const jobs = [...byTarget.keys()].sort().map((id) => {
    const e = byTarget.get(id)!;
    return jobFor(tree, id, e.split, e.names, opts.methods);
  });
  return { jobs, dropped: lists.dropped, splitNames: lists.names };
}

function jobFor(tree: FfppTree, id: string, split: Split, names: string[], methods: readonly Method[]): PrepareJob {
  const job: PrepareJob = { id, split, original: tree.originals.get(id) ?? {}, fakes: [], missing: [] };
  for (const method of methods) {
    for (const name of [...names].sort()) {
      const videos = tree.fakes.get(method)?.get(name);
      if (videos) job.fakes.push({ method, name, videos });
      else job.missing.push({ method, name });
    }
  }
  return job;
}

export const jobRecordPath = (outDir: string, id: string): string => join(outDir, 'jobs', `${id}.json`);
const frameName = (frame: number): string => `${String(frame).padStart(3, '0')}_0.png`;
export const cropPath = (comp: Compression, method: Method | 'youtube', video: string, frame: number): string =>
  `${comp}/${method}/${video}/${frameName(frame)}`;
export const maskPath = (method: Method, video: string, frame: number): string => `Mask/${method}/${video}/${frameName(frame)}`;
