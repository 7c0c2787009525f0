import { stat } from 'node:fs/promises';

/**
 * Why `path` cannot be an image of a dataset listing, or null when it is a non-empty regular file
 * (symbolic links followed). A folder named like an image, a 0-byte file, a dangling link and a
 * link loop (ELOOP: the kernel bounds the walk, so it never hangs) are each named, so they are
 * skipped with their reason instead of entering a manifest.
 */
export async function imageFileProblem(path: string): Promise<string | null> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) return 'is a folder, not an image file';
    if (!s.isFile()) return 'is not a regular file';
    if (s.size === 0) return 'is empty (0 bytes)';
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'is a symbolic link loop';
    if (code === 'ENOENT') return 'not found';
    return `cannot be read (${code ?? String(err)})`;
  }
}
