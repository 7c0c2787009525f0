/**
 * A corpus of hostile .pth files (issue 31), built byte by byte, independent of the reader under
 * test: each case is a zip (test/helpers/zip.ts, patched where the zip itself is the attack) around
 * a pickle written opcode by opcode, and names the problem the reader must report.
 */
import { constants, deflateRawSync } from 'node:zlib';
import { writeZip } from './zip.js';

/** Pickle opcodes, written by hand (protocol 2 plus the LONG4/MEMOIZE of later protocols). */
export class PickleWriter {
  readonly out: number[] = [0x80, 0x02];
  op(...bytes: number[]): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }
  u32(v: number): this {
    return this.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  /** BININT */
  int(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return this.op(0x4a, ...b);
  }
  /** BINFLOAT (big-endian) */
  float(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return this.op(0x47, ...b);
  }
  /** LONG1 of a little-endian two's complement */
  long1(bytes: readonly number[]): this {
    return this.op(0x8a, bytes.length, ...bytes);
  }
  /** BINUNICODE */
  text(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x58)
      .u32(b.length)
      .op(...b);
  }
  /** GLOBAL */
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  /** MARK, the items, TUPLE */
  tuple(items: () => void): this {
    this.op(0x28);
    items();
    return this.op(0x74);
  }
  /** BINPUT i */
  put(i: number): this {
    return this.op(0x71, i);
  }
  /** BINGET i */
  get(i: number): this {
    return this.op(0x68, i);
  }
  /** STOP */
  bytes(): Uint8Array {
    return Uint8Array.from([...this.out, 0x2e]);
  }
}

export interface TensorSpec {
  storageType?: [string, string];
  storageKey?: string;
  numel: number | (() => void);
  offset?: number;
  size: readonly (number | (() => void))[];
  stride: readonly (number | (() => void))[];
}

/** `_rebuild_tensor_v2(persid('storage', type, key, 'cpu', numel), offset, size, stride, False, OrderedDict())` onto `w`. */
export function writeTensor(w: PickleWriter, t: TensorSpec): void {
  const value = (v: number | (() => void)) => (typeof v === 'number' ? w.int(v) : v());
  w.global('torch._utils', '_rebuild_tensor_v2');
  w.tuple(() => {
    w.tuple(() => {
      w.text('storage');
      w.global(...(t.storageType ?? ['torch', 'FloatStorage']));
      w.text(t.storageKey ?? '0').text('cpu');
      value(t.numel);
    });
    w.op(0x51); // BINPERSID
    w.int(t.offset ?? 0);
    w.tuple(() => t.size.forEach(value));
    w.tuple(() => t.stride.forEach(value));
    w.op(0x89); // False
    w.global('collections', 'OrderedDict').op(0x29, 0x52);
  });
  w.op(0x52); // REDUCE
}

/** A pickle of `{name: tensor, …}` (EMPTY_DICT, MARK, items, SETITEMS). */
export function stateDictPickle(tensors: readonly [string, TensorSpec][]): Uint8Array {
  const w = new PickleWriter();
  w.op(0x7d, 0x28);
  for (const [name, t] of tensors) {
    w.text(name);
    writeTensor(w, t);
  }
  return w.op(0x75).bytes();
}

const floats = (n: number) => new Uint8Array(new Float32Array(n).fill(1).buffer);

/** A zip-format checkpoint: `archive/data.pkl`, the storages, `archive/version`. */
export function checkpoint(pickle: Uint8Array, storages: readonly [string, Uint8Array][] = [['0', floats(1)]]): Buffer {
  return writeZip([
    ['archive/data.pkl', pickle],
    ...storages.map(([k, b]) => [`archive/data/${k}`, b] as [string, Uint8Array]),
    ['archive/version', Buffer.from('3\n')],
  ]);
}

/**
 * A raw deflate stream of `mib` MiB of zeros, ~1 KiB per MiB, built without inflating anything:
 * one sync-flushed block of 1 MiB of zeros (its back-references stay inside it), repeated, then
 * an empty final block.
 */
export function zerosBomb(mib: number): { stream: Buffer; block: Buffer } {
  const block = deflateRawSync(Buffer.alloc(2 ** 20), { finishFlush: constants.Z_SYNC_FLUSH });
  return { stream: Buffer.concat([...Array.from({ length: mib }, () => block), Buffer.from([0x03, 0x00])]), block };
}

/** Replaces a storage entry of a stored zip with a deflated stream declaring `size` bytes. */
function withDeflatedEntry(zip: Buffer, name: string, stream: Buffer, size: number): Buffer {
  const entries = centralEntries(zip);
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = e.name === name ? stream : e.data;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.name === name ? 8 : 0, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(e.name === name ? size : data.length, 22);
    local.writeUInt16LE(Buffer.byteLength(e.name), 26);
    const head = Buffer.alloc(46);
    head.writeUInt32LE(0x02014b50, 0);
    head.writeUInt16LE(e.name === name ? 8 : 0, 10);
    head.writeUInt32LE(data.length, 20);
    head.writeUInt32LE(e.name === name ? size : data.length, 24);
    head.writeUInt16LE(Buffer.byteLength(e.name), 28);
    head.writeUInt32LE(offset, 42);
    chunks.push(local, Buffer.from(e.name), data);
    central.push(head, Buffer.from(e.name));
    offset += 30 + Buffer.byteLength(e.name) + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, dir, end]);
}

/** The central directory records of a zip written by writeZip (plain or zip64), with their data. */
function centralEntries(zip: Buffer): { at: number; name: string; data: Buffer }[] {
  const end = zip.length - 22;
  let p = zip.readUInt32LE(end + 16);
  const count = zip.readUInt16LE(end + 10);
  if (p === 0xffffffff) p = Number(zip.readBigUInt64LE(Number(zip.readBigUInt64LE(end - 20 + 8)) + 48));
  const out: { at: number; name: string; data: Buffer }[] = [];
  for (let i = 0; i < (count === 0xffff ? Infinity : count) && zip.readUInt32LE(p) === 0x02014b50; i++) {
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const name = zip.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    let local = zip.readUInt32LE(p + 42);
    if (local === 0xffffffff) local = Number(zip.readBigUInt64LE(p + 46 + nameLength + 4));
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    out.push({ at: p, name, data: zip.subarray(start, start + zip.readUInt32LE(p + 20)) });
    p += 46 + nameLength + extraLength + zip.readUInt16LE(p + 32);
  }
  return out;
}

export interface HostileCase {
  name: string;
  what: string;
  bytes: Buffer;
  /** the problem the reader must report; null: the file is valid and must read within bounds */
  problem: RegExp | null;
  /** the error code when it is not MSCCNET_PTH */
  code?: string;
}

const tensor1: TensorSpec = { numel: 1, size: [1], stride: [1] };
const one = (t: Partial<TensorSpec>) => stateDictPickle([['w', { ...tensor1, ...t }]]);
const GiB = 2 ** 30;

/** The corpus: the kinds of issue 31 and our own. */
export function hostilePthCorpus(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (name: string, what: string, bytes: Buffer, problem: RegExp | null, code?: string) => cases.push({ name, what, bytes, problem, code });
  const { stream: bomb } = zerosBomb(1024);
  const plain = checkpoint(one({}));

  add(
    'zip-bomb',
    '1 GiB of deflated zeros declared as the 4 bytes of a one-float tensor',
    withDeflatedEntry(plain, 'archive/data/0', bomb, 4),
    /'archive\/data\/0' inflates past its declared 4 bytes/,
  );
  add(
    'zip-bomb-declared',
    'the same 1 GiB stream, declared as 1 GiB, for a one-float storage',
    withDeflatedEntry(plain, 'archive/data/0', bomb, GiB),
    /storage '0' declares 1073741824 bytes in the archive, its 1 float32 elements need 4/,
  );
  add(
    'zip-bomb-storage',
    'a deflated 1 GiB storage (2^28 floats, declared honestly) under a one-float tensor',
    withDeflatedEntry(checkpoint(one({ numel: 2 ** 28 })), 'archive/data/0', bomb, GiB),
    /deflated storage '0' would inflate to 1024\.0 MiB for tensors that address 4 bytes of it/,
  );
  add(
    'pickle-bomb',
    'data.pkl deflated from 1 GiB of zeros, declared as such',
    withDeflatedEntry(plain, 'archive/data.pkl', bomb, GiB),
    /'archive\/data\.pkl' declares 1073741824 bytes, more than the 268435456/,
  );
  add(
    'zero-stride',
    'a 16384×16384 view (stride 0) of one float',
    checkpoint(one({ size: [16384, 16384], stride: [0, 0] })),
    /overlapping view of 1 stored elements that would take 1024\.0 MiB/,
  );
  add(
    'zero-stride-3g',
    'a 3×2^30 view (stride 0) of one float',
    checkpoint(one({ size: [3, 2 ** 30], stride: [0, 0] })),
    /overlapping view of 1 stored elements that would take 12288\.0 MiB/,
  );

  const long = new PickleWriter().op(0x8b).u32(256 * 1024);
  long.raw(new Uint8Array(256 * 1024).fill(0x5a));
  add('long4-256k', 'one 256 KiB integer (LONG4)', checkpoint(long.bytes()), /an integer of 262144 bytes \(at most 1024/);

  // 40 dicts, each holding the one below twice through the memo: 2^40 paths over 40 objects
  add('memo-dag-40', 'dicts sharing children through the memo, 40 levels (2^40 paths)', checkpoint(memoDag(40)), null);

  add(
    'zip-extra-past-end',
    "a central directory entry whose extra-field length runs past the file's end",
    patchCentral(plain, 0, (b, at) => b.writeUInt16LE(0xffff, at + 30)),
    /central directory entry 0 \(name 16, extra 65535, comment 0 bytes\) runs past the directory/,
  );
  const zip64 = writeZip(
    [
      ['archive/data.pkl', one({})],
      ['archive/data/0', floats(1)],
    ],
    { zip64: true },
  );
  add(
    'zip64-extra-short',
    'a zip64 extra field that announces 8 bytes in a 6-byte extra',
    patchCentral(zip64, 0, (b, at) => b.writeUInt16LE(6, at + 30)),
    /an extra field of 'archive\/data\.pkl' announces 8 bytes past the end of its extra data/,
  );
  add(
    'zip64-extra-too-short',
    'a zip64 extra field of 4 bytes where the header offset needs 8',
    patchCentral(zip64, 0, (b, at) => b.writeUInt16LE(4, at + 46 + 16 + 2)),
    /the zip64 extra field of 'archive\/data\.pkl' \(4 bytes\) is too short for its header offset/,
  );
  add(
    'zip-count-lie',
    'an end record that announces 65,000 entries in a small directory',
    patchEnd(plain, (b, end) => b.writeUInt16LE(65000, end + 10)),
    /65000 entries cannot fit a \d+-byte central directory/,
  );

  const deep = new PickleWriter();
  for (let i = 0; i < 100_000; i++) deep.op(0x5d); // EMPTY_LIST ×100,000
  for (let i = 0; i < 99_999; i++) deep.op(0x61); // APPEND: each into the one below
  add('deep-lists', 'lists nested 100,000 deep', checkpoint(deep.bytes()), /containers nested more than 1000 deep/);
  add('self-list', 'a list that contains itself', checkpoint(new PickleWriter().op(0x5d).put(0).get(0).op(0x61).bytes()), /a list contains itself/);

  const int32 = (w: PickleWriter) => (v: number) => () => w.int(v);
  const withSize = (size: (w: PickleWriter) => () => void) => {
    const w = new PickleWriter();
    w.op(0x7d).text('w');
    writeTensor(w, { numel: 4, size: [size(w)], stride: [1] });
    return checkpoint(w.op(0x73).bytes(), [['0', floats(4)]]);
  };
  const sizeProblem = /a size is not a non-negative integer/;
  add(
    'negative-size',
    'a tensor of size [-1]',
    withSize((w) => int32(w)(-1)),
    sizeProblem,
  );
  add(
    'nan-size',
    'a tensor of size [NaN]',
    withSize((w) => () => w.float(Number.NaN)),
    sizeProblem,
  );
  add(
    'fractional-size',
    'a tensor of size [2.5]',
    withSize((w) => () => w.float(2.5)),
    sizeProblem,
  );

  add(
    'storage-short',
    'a stored storage of 4 bytes for 4 floats',
    checkpoint(one({ numel: 4, size: [4] }), [['0', floats(1)]]),
    /storage '0' declares 4 bytes in the archive, its 4 float32 elements need 16/,
  );
  add(
    'offset-past-end',
    'a one-float tensor at offset 10 of a 4-float storage',
    checkpoint(one({ numel: 4, offset: 10 }), [['0', floats(4)]]),
    /it reaches element 10, outside its storage/,
  );
  add(
    'unknown-dtype',
    "a storage type that is no storage ('torch.device')",
    checkpoint(one({ storageType: ['torch', 'device'] })),
    /unsupported storage type torch\.device/,
  );
  add(
    'unknown-global',
    'a call of posix.system',
    checkpoint(new PickleWriter().global('posix', 'system').op(0x29, 0x52).bytes()),
    /refused global 'posix\.system'/,
    'MSCCNET_PTH_GLOBAL',
  );
  const full = one({});
  add('truncated-pickle', 'data.pkl cut in the middle', checkpoint(full.subarray(0, Math.floor(full.length / 2))), /truncated pickle/);
  add(
    'storage-twice',
    'one storage key as 1 float, then as 1 int64',
    checkpoint(
      stateDictPickle([
        ['a', tensor1],
        ['b', { ...tensor1, storageType: ['torch', 'LongStorage'] }],
      ]),
    ),
    /storage '0' is 1 float32 elements, then 1 int64 elements/,
  );
  const huge = new PickleWriter();
  huge.op(0x7d).text('w');
  writeTensor(huge, { ...tensor1, numel: () => huge.long1([0, 0, 0, 0, 0, 0, 0, 0x10]) });
  add('huge-numel', 'a storage of 2^60 elements (LONG1)', checkpoint(huge.op(0x73).bytes()), /element count 1152921504606846976/);
  return cases;
}

/** Dicts 0…n-1, dict i holding dict i-1 under 'a' and 'b' (memo GETs); the root is dict n-1. */
function memoDag(n: number): Uint8Array {
  const w = new PickleWriter();
  w.op(0x7d).put(0).text('leaf').int(1).op(0x73).op(0x30); // dict 0 = {'leaf': 1}, popped (kept in memo 0)
  for (let i = 1; i < n; i++) {
    w.op(0x7d)
      .put(i)
      .text('a')
      .get(i - 1)
      .op(0x73)
      .text('b')
      .get(i - 1)
      .op(0x73);
    if (i < n - 1) w.op(0x30);
  }
  return w.bytes();
}

/** The central directory record `index` of a stored zip, patched in a copy. */
function patchCentral(zip: Buffer, index: number, patch: (b: Buffer, at: number) => void): Buffer {
  const copy = Buffer.from(zip);
  patch(copy, centralEntries(zip)[index].at);
  return copy;
}

/** The end-of-central-directory record (the last 22 bytes), patched in a copy. */
function patchEnd(zip: Buffer, patch: (b: Buffer, end: number) => void): Buffer {
  const copy = Buffer.from(zip);
  patch(copy, copy.length - 22);
  return copy;
}
