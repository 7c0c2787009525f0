import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { ioErrorOf } from '../errors.js';
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

/**
 * Creates `dir` if needed and proves it writable with a temp file, so a command fails at once with
 * an MSCCNET_IO message (read-only folder, no permission, full disk) instead of after its work.
 */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await writeFileAtomic(join(dir, `${TEMP_PREFIX}probe`), '');
    await rm(join(dir, `${TEMP_PREFIX}probe`), { force: true });
  } catch (err) {
    throw ioErrorOf(err, dir) ?? err;
  }
}

/** Removes temps a killed run left behind under `dir` (only safe when no other process writes there). */
export async function removeStaleTemps(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && isTempName(e.name)) { await rm(join(e.parentPath, e.name), { force: true }); n++; }
  }
  return n;
}
