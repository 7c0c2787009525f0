import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` through a temporary file in the same folder and a rename, so a killed
 * process leaves either the old file, the whole new file or a stray `.partial-*` temp, never a
 * truncated output. Temps are named so that {@link isTempName} recognises and cleanup removes them.
 */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${basename(path)}`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

const TEMP_PREFIX = '.partial-';

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}
