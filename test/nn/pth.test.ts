import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { writeZip } from '../helpers/zip.js';
import { readZipEntriesForTest } from '../helpers/zip-read.js';
import { decodePth, flattenPth, pthToFloat64, readPth, PthError, PthGlobalError, PthTensor } from '../../src/nn/pth/index.js';

const dir = fixtureDir('pth-checkpoints');
interface TensorSpec {
  dtype: string;
  shape: number[];
  sum: number;
  sumsq: number;
  first: number[];
  contiguous: boolean;
}
type EntrySpec = TensorSpec | { value: unknown };
interface FileSpec {
  format: string;
  entries: Record<string, EntrySpec>;
  shared_storage?: [string, string][];
  must_refuse?: string;
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, FileSpec>;

function close(actual: number, wanted: number, what: string): void {
  assert.ok(Math.abs(actual - wanted) <= 1e-9 * Math.max(1, Math.abs(wanted)), `${what}: ${actual} vs ${wanted}`);
}

for (const [file, spec] of Object.entries(expected)) {
  if (spec.must_refuse !== undefined) continue;
  test(`${file}: every entry of expected.json (${spec.format})`, async () => {
    const checkpoint = await readPth(join(dir, file));
    assert.equal(checkpoint.format, spec.format);
    const flat = flattenPth(checkpoint.root);
    for (const [path, entry] of Object.entries(spec.entries)) {
      assert.ok(flat.has(path), `missing entry ${path}`);
      const leaf = flat.get(path);
      if ('value' in entry) {
        assert.deepEqual(leaf, entry.value, path);
        continue;
      }
      assert.ok(leaf instanceof PthTensor, `${path} is a tensor`);
      assert.equal(leaf.dtype, entry.dtype, `${path} dtype`);
      assert.deepEqual(leaf.shape, entry.shape, `${path} shape`);
      assert.equal(leaf.contiguous, entry.contiguous, `${path} contiguous`);
      const values = pthToFloat64(leaf);
      assert.equal(
        values.length,
        entry.shape.reduce((a, b) => a * b, 1),
      );
      assert.deepEqual([...values.subarray(0, 4)], entry.first, `${path} first`);
      let sum = 0;
      let sumsq = 0;
      for (const v of values) {
        sum += v;
        sumsq += v * v;
      }
      close(sum, entry.sum, `${path} sum`);
      close(sumsq, entry.sumsq, `${path} sumsq`);
    }
    for (const [a, b] of spec.shared_storage ?? []) {
      const ta = flat.get(a);
      const tb = flat.get(b);
      assert.ok(ta instanceof PthTensor && tb instanceof PthTensor);
      assert.equal(ta.storage, tb.storage, `${a} and ${b} share one storage`);
    }
  });
}

test('a contiguous float32 tensor is a view into the file buffer, not a copy', () => {
  const bytes = readFileSync(join(dir, 'assorted.pth'));
  const flat = flattenPth(decodePth(bytes, 'assorted.pth').root);
  const base = flat.get('base');
  assert.ok(base instanceof PthTensor);
  assert.equal(base.data().buffer, bytes.buffer);
  const transposed = flat.get('transposed');
  assert.ok(transposed instanceof PthTensor);
  assert.notEqual(transposed.data().buffer, bytes.buffer, 'a non-contiguous view is materialised');
});

test('the refused global is named and nothing runs', async () => {
  const file = Object.keys(expected).find((f) => expected[f].must_refuse?.includes('global'));
  assert.ok(file);
  await assert.rejects(readPth(join(dir, file)), (err: unknown) => {
    assert.ok(err instanceof PthGlobalError);
    assert.match(err.global, /^(posix|os)\.system$/);
    assert.match(err.message, /system/);
    return true;
  });
});

test('truncated files fail with a typed error: the zip fixture and a legacy stream cut short', async () => {
  const file = Object.keys(expected).find((f) => expected[f].must_refuse?.includes('truncated'));
  assert.ok(file);
  await assert.rejects(readPth(join(dir, file)), (err: unknown) => err instanceof PthError && /truncated/.test(err.message));
  const legacyFile = Object.keys(expected).find((f) => expected[f].format === 'legacy');
  assert.ok(legacyFile);
  const legacy = readFileSync(join(dir, legacyFile));
  for (const cut of [10, Math.floor(legacy.length / 2), legacy.length - 3]) {
    assert.throws(
      () => decodePth(legacy.subarray(0, cut), legacyFile),
      (err: unknown) => err instanceof PthError && /truncated/.test(err.message),
      `cut at ${cut}`,
    );
  }
  assert.throws(() => decodePth(new Uint8Array([1, 2, 3]), 'junk'), PthError);
});

test('an archive re-zipped with deflate, with zip64 records, and under another prefix reads the same tensors', () => {
  const file = Object.keys(expected).find((f) => expected[f].shared_storage !== undefined)!;
  const original = decodePth(readFileSync(join(dir, file)), file);
  // rebuild the archive from its parts: the reader's own zip code is not used to take it apart
  const entries = readZipEntriesForTest(readFileSync(join(dir, file))).map(
    ([name, data]) => [name.replace(/^[^/]+\//, 'renamed-prefix/'), data] as [string, Uint8Array],
  );
  const a = flattenPth(original.root);
  for (const options of [{ deflate: true }, { zip64: true }]) {
    const b = flattenPth(decodePth(writeZip(entries, options), 'rezipped').root);
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [k, v] of a) {
      const w = b.get(k);
      if (v instanceof PthTensor) {
        assert.ok(w instanceof PthTensor);
        assert.deepEqual(pthToFloat64(w), pthToFloat64(v), k);
      } else assert.deepEqual(w, v, k);
    }
  }
});
