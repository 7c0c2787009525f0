/**
 * Takes a small zip without a comment apart (test-only, independent of src/nn/pth/zip.ts): the
 * end record is the last 22 bytes; entries come from the central directory, stored ones only.
 */
export function readZipEntriesForTest(bytes: Buffer): [string, Uint8Array][] {
  const end = bytes.length - 22;
  if (bytes.readUInt32LE(end) !== 0x06054b50) throw new Error('not a comment-free zip');
  const count = bytes.readUInt16LE(end + 10);
  let p = bytes.readUInt32LE(end + 16);
  const out: [string, Uint8Array][] = [];
  for (let i = 0; i < count; i++) {
    const size = bytes.readUInt32LE(p + 20);
    const nameLength = bytes.readUInt16LE(p + 28);
    const skip = nameLength + bytes.readUInt16LE(p + 30) + bytes.readUInt16LE(p + 32);
    const name = bytes.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    const local = bytes.readUInt32LE(p + 42);
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    out.push([name, bytes.subarray(start, start + size)]);
    p += 46 + skip;
  }
  return out;
}
