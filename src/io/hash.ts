import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ioErrorOf } from '../errors.js';

/**
 * `sha256:<hex>` of a file's contents, streamed (a model or manifest of any size costs one read
 * buffer). A read failure is an MSCCNET_IO error naming the file.
 */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (err) {
    throw ioErrorOf(err, path) ?? err;
  }
  return `sha256:${hash.digest('hex')}`;
}
