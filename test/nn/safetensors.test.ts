import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { torch, type Tensor } from '../../src/torch/index.js';
import { SafetensorsError, decodeSafetensors, encodeSafetensors, fromBytes, loadSafetensors, saveSafetensors } from '../../src/nn/index.js';
import { fixtureDir } from '../helpers/fixtures.js';

/**
 * An encoder written from the format description alone (not our writer): u64 LE header size,
 * JSON header, data. It lays tensors out in the given order with no alignment padding, so
 * later tensors start at unaligned offsets, which the format allows.
 */
function specEncode(entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    offset += e.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  return new Uint8Array(Buffer.concat([size, json, ...entries.map((e) => Buffer.from(e.bytes))]));
}
const le = (kind: 'f32' | 'f64' | 'i64' | 'i32' | 'u16', values: number[]): Uint8Array => {
  const size = { f32: 4, f64: 8, i64: 8, i32: 4, u16: 2 }[kind];
  const b = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (kind === 'f32') b.writeFloatLE(v, i * 4);
    else if (kind === 'f64') b.writeDoubleLE(v, i * 8);
    else if (kind === 'i64') b.writeBigInt64LE(BigInt(v), i * 8);
    else if (kind === 'i32') b.writeInt32LE(v, i * 4);
    else b.writeUInt16LE(v, i * 2);
  });
  return new Uint8Array(b);
};

test('decodes a file from an independent encoder: every dtype, unaligned offsets, float16/bfloat16 → float32, metadata', () => {
  const bytes = specEncode(
    [
      { name: 'mask', dtype: 'U8', shape: [3], bytes: new Uint8Array([0, 255, 7]) },
      { name: 'w', dtype: 'F32', shape: [2, 2], bytes: le('f32', [1.5, -2.25, 3, 1e-3]) },
      { name: 'flags', dtype: 'BOOL', shape: [3], bytes: new Uint8Array([1, 0, 1]) },
      { name: 'd', dtype: 'F64', shape: [2], bytes: le('f64', [Math.PI, -1e300]) },
      { name: 'n', dtype: 'I64', shape: [2], bytes: le('i64', [-5, 2 ** 40]) },
      { name: 'i', dtype: 'I32', shape: [1], bytes: le('i32', [-7]) },
      // IEEE half: 1, −2, 0.5, 65504 (max), 2^-24 (smallest subnormal)
      { name: 'h', dtype: 'F16', shape: [5], bytes: le('u16', [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001]) },
      // bfloat16: 1, −3.140625
      { name: 'bf', dtype: 'BF16', shape: [2], bytes: le('u16', [0x3f80, 0xc049]) },
      { name: 'scalar', dtype: 'F32', shape: [], bytes: le('f32', [42]) },
      { name: 'empty', dtype: 'F32', shape: [0, 3], bytes: new Uint8Array(0) },
    ],
    { format: 'pt', note: 'spec' },
  );
  const { tensors, metadata } = fromBytes(bytes);
  assert.deepEqual(metadata, { format: 'pt', note: 'spec' });
  const got = (k: string) => tensors.get(k)!;
  assert.deepEqual([got('mask').dtype, got('mask').toArray()], ['uint8', [0, 255, 7]]);
  assert.deepEqual([got('w').dtype, got('w').shape, got('w').toArray()], ['float32', [2, 2], [1.5, -2.25, 3, Math.fround(1e-3)]]);
  assert.deepEqual([got('flags').dtype, got('flags').toArray()], ['bool', [1, 0, 1]]);
  assert.deepEqual([got('d').dtype, got('d').toArray()], ['float64', [Math.PI, -1e300]]);
  assert.deepEqual([got('n').dtype, got('n').toArray()], ['int64', [-5, 2 ** 40]]);
  assert.deepEqual([got('i').dtype, got('i').toArray()], ['int32', [-7]]);
  assert.deepEqual([got('h').dtype, got('h').toArray()], ['float32', [1, -2, 0.5, 65504, 2 ** -24]]);
  assert.deepEqual([got('bf').dtype, got('bf').toArray()], ['float32', [1, -3.140625]]);
  assert.deepEqual([got('scalar').shape, got('scalar').item()], [[], 42]);
  assert.deepEqual(got('empty').shape, [0, 3]);
});

test('round trip through our writer: values, dtypes, shapes, order-independent layout, 8-byte aligned data', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-st-'));
  const path = join(dir, 'w.safetensors');
  const original = new Map([
    ['layer.weight', torch.randn([3, 4, 2])],
    ['layer.num_batches_tracked', torch.tensor([12], [], 'int64')],
    ['b', torch.tensor([1, 0, 1], [3], 'bool')],
    ['u', torch.tensor([1, 2, 3], [3], 'uint8')],
    ['d', torch.randn([5], { dtype: 'float64' })],
    ['i', torch.tensor([-1, 9], [2], 'int32')],
  ]);
  await saveSafetensors(path, original, { epoch: '3' });
  assert.deepEqual(await readdir(dir), ['w.safetensors'], 'no temporary file left behind');
  const raw = new Uint8Array(await readFile(path));
  const headerLength = Number(new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true));
  assert.equal((8 + headerLength) % 8, 0, 'data starts 8-byte aligned');
  for (const [, t] of decodeSafetensors(raw).tensors)
    assert.equal(t.data.byteOffset % { F32: 4, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 }[t.dtype as 'F32']!, 0);
  const loaded = await loadSafetensors(path);
  assert.deepEqual(loaded.metadata, { epoch: '3' });
  assert.deepEqual([...loaded.tensors.keys()].sort(), [...original.keys()].sort());
  for (const [k, t] of original) {
    const u = loaded.tensors.get(k)!;
    assert.deepEqual([u.dtype, u.shape, u.toArray()], [t.dtype, t.shape, t.toArray()], k);
  }
  await saveSafetensors(path, { only: torch.ones([1]) });
  assert.deepEqual([...(await loadSafetensors(path)).tensors.keys()], ['only'], 'overwrite replaces the file');
  await assert.rejects(saveSafetensors(join(dir, 'missing', 'x.safetensors'), { a: torch.ones([1]) }));
  assert.deepEqual(await readdir(dir), ['w.safetensors']);
  const withoutMeta = decodeSafetensors(encodeSafetensors({ a: torch.ones([2]) }));
  assert.deepEqual(withoutMeta.metadata, {});
});

test('reads the shared fixture files (written by Python) and agrees with their other encodings', async () => {
  const pairs = fixtureDir('annotation-pairs');
  const stages = await loadSafetensors(join(pairs, 'p01_astronaut_sbi_stages.safetensors'));
  const mask = stages.tensors.get('final_mask_u8')!;
  assert.deepEqual([mask.dtype, mask.shape], ['uint8', [144, 144]]);
  const png = await sharp(join(pairs, 'p01_astronaut_sbi_mask.png')).greyscale().raw().toBuffer();
  assert.deepEqual(Buffer.from(mask.toTypedArray() as Uint8Array), png, 'final_mask_u8 equals the official mask PNG');
  const f64 = stages.tensors.get('ssim_map_f64')!.toTypedArray() as Float64Array;
  const f32 = stages.tensors.get('ssim_map_f32')!.toTypedArray() as Float32Array;
  assert.equal(f32.length, f64.length);
  assert.ok(
    f64.every((v, i) => Math.fround(v) === f32[i]),
    'ssim_map_f32 is ssim_map_f64 rounded to float32',
  );

  const model = fixtureDir('msccnet-128');
  const expected = JSON.parse(await readFile(join(model, 'expected.json'), 'utf8')) as { img_logits: number[][] };
  const t = await loadSafetensors(join(model, 'tensors.safetensors'));
  assert.deepEqual(t.tensors.get('img_logits')!.toArray(), expected.img_logits.flat().map(Math.fround));
  assert.deepEqual(t.tensors.get('input')!.shape, [2, 3, 128, 128]);
});

test('rejects truncated and malformed files with a SafetensorsError that says what is wrong, from memory and from disk alike', async () => {
  const good = encodeSafetensors({ a: torch.ones([4]), b: torch.zeros([2], { dtype: 'int64' }) });
  const withHeader = (header: unknown, dataBytes = 16): Uint8Array => {
    const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(json.length));
    return new Uint8Array(Buffer.concat([size, json, Buffer.alloc(dataBytes)]));
  };
  const withLength = (n: bigint) => {
    const b = Uint8Array.from(good);
    new DataView(b.buffer).setBigUint64(0, n, true);
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', good.subarray(0, 5), /too short/],
    ['truncated data', good.subarray(0, good.length - 3), /out of range.*truncated/],
    ['truncated header', good.subarray(0, 20), /runs past the end/],
    ['absurd header length', withLength(2n ** 40n), /exceeds/],
    ['header length past the end', withLength(BigInt(good.length)), /runs past the end/],
    ['header not JSON', withHeader('{"a": [1,'), /not valid UTF-8 JSON/],
    ['header not an object', withHeader([1, 2]), /not an object/],
    ['unknown dtype', withHeader({ a: { dtype: 'F8', shape: [4], data_offsets: [0, 16] } }), /unknown dtype "F8"/],
    ['shape × dtype size mismatch', withHeader({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }), /16 bytes but shape \[3\] × F32 needs 12/],
    ['bad shape', withHeader({ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }), /shape/],
    ['bad offsets', withHeader({ a: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } }), /out of range/],
    [
      'overlapping tensors',
      withHeader({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }),
      /overlaps/,
    ],
    [
      'hole in the data',
      withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } }),
      /belong to no tensor/,
    ],
    ['trailing bytes', withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }), /trailing bytes/],
    ['metadata not strings', withHeader({ __metadata__: { n: 1 } }, 0), /__metadata__\.n is not a string/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(
      () => decodeSafetensors(bytes, 'w.safetensors'),
      (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, what);
        assert.equal(e.code, 'MSCCNET_SAFETENSORS');
        assert.match(e.message, /^w\.safetensors: /, what);
        assert.match(e.message, message, what);
        return true;
      },
      what,
    );
  }
  assert.equal(decodeSafetensors(good).tensors.size, 2, 'the untouched file decodes');
  // loadSafetensors reads the header and then each tensor from the file: the same checks, the same messages
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-st-'));
  const path = join(dir, 'w.safetensors');
  for (const [what, bytes] of cases) {
    await writeFile(path, bytes);
    let fromMemory = '';
    try {
      decodeSafetensors(bytes, path);
    } catch (e) {
      fromMemory = (e as Error).message;
    }
    await assert.rejects(loadSafetensors(path), (e: unknown) => e instanceof SafetensorsError && e.message === fromMemory, what);
  }
  await rm(dir, { recursive: true, force: true });
});

test('a checkpoint is written and read tensor by tensor: the file is encodeSafetensors byte for byte, and no file-sized buffer is faulted in', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-st-'));
  const path = join(dir, 'big.safetensors');
  // 8 × 8 MiB float32 (64 MiB, above glibc's 32 MiB mmap threshold at addon load: a buffer that size is fresh pages every time)
  const tensors = new Map<string, Tensor>(Array.from({ length: 8 }, (_, i) => [`w${i}`, torch.full([2048, 1024], i + 0.5)] as const));
  tensors.set('steps', torch.tensor([7], [], 'int64'));
  const faults = (): number => process.resourceUsage().minorPageFault;
  let saveFaults = Infinity;
  let loadFaults = Infinity;
  for (let round = 0; round < 4; round++) {
    const f0 = faults();
    await saveSafetensors(path, tensors, { round: String(round) });
    const f1 = faults();
    const loaded = await loadSafetensors(path);
    const f2 = faults();
    assert.deepEqual(loaded.metadata, { round: String(round) });
    for (const [k, t] of tensors)
      assert.equal(
        torch.tidy(() => loaded.tensors.get(k)!.sub(t).abs().max().item()),
        0,
        k,
      );
    torch.dispose(loaded.tensors);
    // the fewest of the warm rounds (the first warms the allocator and the heap; a GC may land in any one)
    if (round > 0) [saveFaults, loadFaults] = [Math.min(saveFaults, f1 - f0), Math.min(loadFaults, f2 - f1)];
  }
  assert.ok((await readFile(path)).equals(encodeSafetensors(tensors, { round: '3' })), 'the streamed file differs from the encoded bytes');
  // 64 MiB is 16,384 pages: one file-sized buffer on either side would fault them all in
  assert.ok(saveFaults < 4096, `saving faulted ${saveFaults} pages`);
  assert.ok(loadFaults < 4096, `loading faulted ${loadFaults} pages`);
  torch.dispose(tensors);
  await rm(dir, { recursive: true, force: true });
});

test('loadSafetensors on a truncated file on disk fails with the path in the message', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-st-'));
  const path = join(dir, 'cut.safetensors');
  const bytes = encodeSafetensors({ a: torch.ones([100]) });
  await writeFile(path, bytes.subarray(0, bytes.length - 10));
  await assert.rejects(loadSafetensors(path), (e: unknown) => e instanceof SafetensorsError && e.message.includes(path));
});
