/**
 * What a run trains on, recorded beside its config: `<run>/data.json` holds the size and a hash
 * of the training list (each sample's id, image, mask and label, in epoch-list order). A resume
 * compares it with the list the same config yields now, so a manifest regenerated or edited at the
 * same path is refused instead of continuing an optimiser state on other samples.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { Sample } from '../samples/dataset.js';
import { CheckpointError } from './errors.js';

export interface DataListRecord {
  readonly samples: number;
  /** `sha256:…` over the list's entries */
  readonly sha256: string;
}

/** The record of a sample list (order matters: it is the order an epoch walks). */
export function dataListRecord(list: readonly Sample[]): DataListRecord {
  const hash = createHash('sha256');
  for (const s of list) hash.update(`${JSON.stringify([s.id, s.image, s.mask, s.label])}\n`);
  return { samples: list.length, sha256: `sha256:${hash.digest('hex')}` };
}

export const DATA_LIST_FILE = 'data.json';

export async function writeDataList(runDir: string, record: DataListRecord): Promise<void> {
  await writeFileAtomic(join(runDir, DATA_LIST_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Refuses a resume whose training list differs from the one the run started with. A run folder
 * written before data.json existed is taken as it is.
 */
export async function checkDataList(runDir: string, record: DataListRecord, source: string): Promise<void> {
  const path = join(runDir, DATA_LIST_FILE);
  if (!existsSync(path)) return;
  const saved = JSON.parse(await readFile(path, 'utf8')) as DataListRecord;
  if (saved.sha256 === record.sha256) return;
  throw new CheckpointError(
    path,
    `was written for another data list: ${source} now gives ${record.samples} training samples (${record.sha256}), the run started on ${saved.samples} (${saved.sha256})`,
    'restore the data the run started with to resume it, or start a new run folder (--overwrite)',
  );
}
