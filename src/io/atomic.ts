import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { ioErrorOf } from '../errors.js';
import { basename, dirname, join, sep } from 'node:path';

/** The one temporary-name scheme of every atomic writer: `.partial-<random>-<final name>`. */
const TEMP_PREFIX = '.partial-';

/** Whether a file or folder name is a temporary of {@link tempPath} (a stray one is a killed writer's). */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/**
 * A fresh temporary path beside `path` (same folder, so the rename is atomic), named so that
 * {@link isTempName} recognises it and {@link removeStaleTemps} cleans it up; random, so two
 * writers of one path never share a temp.
 */
export function tempPath(path: string): string {
  return join(dirname(path), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${basename(path)}`);
}

export interface AtomicWriteOptions {
  /**
   * Flush the data to the disk before the rename, so that a power loss (not only a killed
   * process) cannot leave the new name over missing data: for weights and checkpoints.
   */
  readonly fsync?: boolean;
  /** create the folder if missing (default); false: a missing folder is an error, as for a file the user named */
  readonly createFolder?: boolean;
}

/**
 * Writes `data` to `path` through a temporary file in the same folder ({@link tempPath}) and a
 * rename, so a killed process leaves either the old file, the whole new file or a stray temp, never
 * a truncated output. A failure removes the temp and is an MSCCNET_IO error naming `path`. `data`
 * may be chunks, made one at a time as they are written (a checkpoint, tensor by tensor).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string | Iterable<Uint8Array>, options: AtomicWriteOptions = {}): Promise<void> {
  if (options.createFolder ?? true) await mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
      else for (const chunk of data) await fh.writeFile(chunk); // each from the file's current position
      if (options.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    // name the file the user asked for: a failed write(2) carries no path (ENOSPC, EFBIG, EIO), a failed open the temp's
    const sys = err as NodeJS.ErrnoException;
    if (sys.path === tmp) sys.path = path;
    throw ioErrorOf(err, path) ?? err;
  }
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

/**
 * Removes the temps (files, and folders with what they hold) a killed run left under `dir`; returns
 * how many. Only safe when no other process writes there.
 */
export async function removeStaleTemps(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  const removed: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    if (!isTempName(e.name) || removed.some((r) => path.startsWith(`${r}${sep}`))) continue; // inside a removed folder
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed.length;
}
