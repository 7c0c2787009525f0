import { crc32, deflateRawSync } from 'node:zlib';

/**
 * A minimal zip writer, independent of the reader under test: stored entries aligned to 64 bytes
 * (as torch.save writes them, with an 'FB' padding field), or deflated entries (an archive
 * re-zipped by another tool); `zip64` writes the 64-bit records that archives over 4 GiB need.
 */
export function writeZip(entries: readonly [string, Uint8Array][], options: { deflate?: boolean; zip64?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, raw] of entries) {
    const nameBytes = Buffer.from(name, 'utf8');
    const data = options.deflate ? deflateRawSync(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const pad = options.deflate ? 0 : (64 - ((offset + 30 + nameBytes.length + 4) % 64)) % 64;
    const extra = Buffer.alloc(options.deflate ? 0 : 4 + pad);
    if (!options.deflate) {
      extra.writeUInt16LE(0x4246, 0);
      extra.writeUInt16LE(pad, 2);
    }
    const crc = crc32(raw);
    const method = options.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.byteLength, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const head = Buffer.alloc(46);
    head.writeUInt32LE(0x02014b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(20, 6);
    head.writeUInt16LE(method, 10);
    head.writeUInt32LE(crc, 16);
    head.writeUInt32LE(data.length, 20);
    head.writeUInt32LE(raw.byteLength, 24);
    head.writeUInt16LE(nameBytes.length, 28);
    head.writeUInt32LE(options.zip64 ? 0xffffffff : offset, 42);
    if (options.zip64) {
      // the offset moves into a zip64 extra field
      const extra64 = Buffer.alloc(12);
      extra64.writeUInt16LE(1, 0);
      extra64.writeUInt16LE(8, 2);
      extra64.writeBigUInt64LE(BigInt(offset), 4);
      head.writeUInt16LE(extra64.length, 30);
      central.push(head, nameBytes, extra64);
    } else {
      central.push(head, nameBytes);
    }
    chunks.push(local, nameBytes, extra, data);
    offset += 30 + nameBytes.length + extra.length + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  if (!options.zip64) {
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(dir.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...chunks, dir, end]);
  }
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(entries.length), 24);
  record.writeBigUInt64LE(BigInt(entries.length), 32);
  record.writeBigUInt64LE(BigInt(dir.length), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + dir.length), 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([...chunks, dir, record, locator, end]);
}
