import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic.js';
import { problemLine } from '../errors.js';
import { decodeImage, encodeGrayPng } from '../image/index.js';
import type { AnnotationOptions } from './options.js';
import type { Pair } from './pairs.js';
import type { SkipReason } from './annotate.js';
import { annotatePair } from './annotate.js';

/** What happened to one pair; the batch report lists one per pair, in input order. */
export type PairRecord = Pair & ({ readonly status: 'annotated' } | { readonly status: 'skipped'; readonly reason: SkipReason; readonly message: string });

/** One pair's job: where its outputs go and whether existing ones are kept. */
export interface PairTask {
  readonly pair: Pair;
  readonly outDir: string;
  readonly diffDir: string | null;
  readonly overwrite: boolean;
  readonly annotation: AnnotationOptions;
  /** inputs with more pixels (width × height, from the header) are skipped as `too-large` */
  readonly maxPixels: number;
}

/** What became of one pair's task: its record, and whether its outputs were already there. */
export interface PairOutcome {
  readonly record: PairRecord;
  readonly reused: boolean;
}

/**
 * An existing output counts as done only when it is a complete, decodable image: a run killed
 * mid-write, a zero-byte file or a torn one is computed again.
 */
async function complete(path: string): Promise<boolean> {
  return decodeImage(path).then(
    () => true,
    () => false,
  );
}

/**
 * Why an input may not be decoded: not a regular file (a device such as /dev/zero, a pipe), or more
 * pixels than `maxPixels` by its header. Null when it may; missing files are annotatePair's to report.
 */
async function refusal(path: string, maxPixels: number): Promise<{ reason: 'unreadable' | 'too-large'; message: string } | null> {
  const s = await stat(path).catch(() => null);
  if (s === null) return null;
  if (!s.isFile()) return { reason: 'unreadable', message: `${path}: not a regular file (a device, pipe or folder); it is not read` };
  const meta = await sharp(path, { limitInputPixels: false })
    .metadata()
    .catch(() => null);
  const pixels = (meta?.width ?? 0) * (meta?.height ?? 0);
  if (pixels > maxPixels) {
    return {
      reason: 'too-large',
      message: `${path}: ${meta?.width}×${meta?.height} is more than ${maxPixels / 1e6} megapixels; raise --max-megapixels to annotate it`,
    };
  }
  return null;
}

/**
 * Annotates one pair into files: the mask (and diff map) are written atomically, the mask last, so an existing
 * mask means the pair is finished. Returns whether the outputs were already there. Never throws for bad input.
 */
export async function annotatePairToFiles(task: PairTask): Promise<PairOutcome> {
  const { pair } = task;
  const maskPath = join(task.outDir, pair.output);
  const diffPath = task.diffDir === null ? null : join(task.diffDir, pair.output);
  if (!task.overwrite && (await complete(maskPath)) && (diffPath === null || (await complete(diffPath)))) {
    return { record: { ...pair, status: 'annotated' }, reused: true };
  }
  try {
    for (const input of [pair.real, pair.fake]) {
      const refused = await refusal(input, task.maxPixels);
      if (refused !== null) return { record: { ...pair, status: 'skipped', ...refused }, reused: false };
    }
    const result = await annotatePair(pair.real, pair.fake, task.annotation);
    if (result.status === 'skipped') return { record: { ...pair, status: 'skipped', reason: result.reason, message: result.message }, reused: false };
    // Fast zlib level: masks are two-valued and compress well anyway; encoding is part of the per-pair cost.
    if (diffPath !== null) await writeFileAtomic(diffPath, encodeGrayPng(result.diff, 1));
    await writeFileAtomic(maskPath, encodeGrayPng(result.mask, 1));
    return { record: { ...pair, status: 'annotated' }, reused: false };
  } catch (err) {
    return { record: { ...pair, status: 'skipped', reason: 'failed', message: problemLine(err) }, reused: false };
  }
}
