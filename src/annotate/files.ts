import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeGrayPng } from '../image/index.js';
import type { AnnotationOptions } from './options.js';
import type { Pair } from './pairs.js';
import type { SkipReason } from './annotate.js';
import { annotatePair } from './annotate.js';

/** What happened to one pair; the batch report lists one per pair, in input order. */
export type PairRecord = Pair & (
  | { readonly status: 'annotated' }
  | { readonly status: 'skipped'; readonly reason: SkipReason; readonly message: string });

/** One pair's job: where its outputs go and whether existing ones are kept. */
export interface PairTask {
  readonly pair: Pair;
  readonly outDir: string;
  readonly diffDir: string | null;
  readonly overwrite: boolean;
  readonly annotation: AnnotationOptions;
}

/** Suffix of files being written; a run killed mid-write leaves at most these, which the next run overwrites. */
export const PARTIAL_SUFFIX = '.partial';

/**
 * Writes `data` to `path` through `<path>.partial` and a rename, so `path` is either absent or complete.
 * (The temp name is deterministic, so a rerun replaces what a killed run left.)
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = path + PARTIAL_SUFFIX;
  await writeFile(partial, data);
  await rename(partial, path);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/**
 * Annotates one pair into files: the mask (and diff map) are written atomically, the mask last, so an existing
 * mask means the pair is finished. Returns whether the outputs were already there. Never throws for bad input.
 */
export async function annotatePairToFiles(task: PairTask): Promise<{ record: PairRecord; reused: boolean }> {
  const { pair } = task;
  const maskPath = join(task.outDir, pair.output);
  const diffPath = task.diffDir === null ? null : join(task.diffDir, pair.output);
  if (!task.overwrite && (await exists(maskPath)) && (diffPath === null || (await exists(diffPath)))) {
    return { record: { ...pair, status: 'annotated' }, reused: true };
  }
  try {
    const result = await annotatePair(pair.real, pair.fake, task.annotation);
    if (result.status === 'skipped') return { record: { ...pair, status: 'skipped', reason: result.reason, message: result.message }, reused: false };
    // Fast zlib level: masks are two-valued and compress well anyway; encoding is part of the per-pair cost.
    if (diffPath !== null) await writeFileAtomic(diffPath, encodeGrayPng(result.diff, 1));
    await writeFileAtomic(maskPath, encodeGrayPng(result.mask, 1));
    return { record: { ...pair, status: 'annotated' }, reused: false };
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { record: { ...pair, status: 'skipped', reason: 'failed', message }, reused: false };
  }
}
