import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { detfillInput, detfillSpecs, detfillValues, fmix32, fnv1a32, rawIndexHash, unitValue, type DetfillKind } from '../../src/models/detfill.js';
import { MSCCNet } from '../../src/models/msccnet/index.js';
import { officialDctWeight } from '../../src/models/msccnet/dct.js';

const dir = fixtureDir('msccnet-128');
interface Vector {
  name: string;
  kind: DetfillKind;
  fan_in: number | null;
  scale: number | null;
  h_fnv1a: number;
  elements: { i: number; k0: number; k: number; u: number; value_float32: number }[];
}
interface ManifestEntry {
  name: string;
  shape: number[];
  kind: DetfillKind;
  fan_in: number | null;
  scale: number | null;
  fnv1a: number | null;
  numel: number;
  sum_f64: number;
  abs_sum_f64: number;
  first: number[];
  last: number;
}
const vectors: { offset_basis: number; vectors: Vector[] } = JSON.parse(readFileSync(join(dir, 'fill_test_vectors.json'), 'utf8'));
const manifest: { offset_basis: number; spectral_side_S: number; entries: ManifestEntry[] } = JSON.parse(
  readFileSync(join(dir, 'params_manifest.json'), 'utf8'),
);

test('detfill-v1 reproduces every step of the fixture test vectors', () => {
  for (const v of vectors.vectors) {
    const h = fnv1a32(v.name, vectors.offset_basis);
    assert.equal(h, v.h_fnv1a, `${v.name}: FNV-1a`);
    const last = Math.max(...v.elements.map((e) => e.i));
    const values = detfillValues(v.name, last + 1, { kind: v.kind, fanIn: v.fan_in ?? undefined, scale: v.scale ?? undefined }, vectors.offset_basis);
    for (const e of v.elements) {
      assert.equal(rawIndexHash(e.i, h), e.k0, `${v.name}[${e.i}]: k0`);
      assert.equal(fmix32(e.k0), e.k, `${v.name}[${e.i}]: fmix32`);
      assert.equal(unitValue(e.i, h), e.u, `${v.name}[${e.i}]: u`);
      assert.equal(values[e.i], e.value_float32, `${v.name}[${e.i}]: value`);
    }
  }
});

test('the module structure gives the manifest kinds, fan_in and scales, and the fill its checksums', () => {
  const S = manifest.spectral_side_S;
  const model = new MSCCNet({ inputSize: S * 8 });
  const specs = detfillSpecs(model);
  assert.deepEqual([...specs.keys()].sort(), manifest.entries.map((e) => e.name).sort(), 'state-dict names');
  for (const e of manifest.entries) {
    const spec = specs.get(e.name)!;
    assert.equal(spec.kind, e.kind, `${e.name}: kind`);
    if (e.kind === 'dct_buffer') {
      const dct = officialDctWeight(e.shape[0], e.shape[1]);
      assert.equal(dct[0], e.first[0], `${e.name}: first`);
      assert.equal(dct[dct.length - 1], e.last, `${e.name}: last`);
      assert.equal(
        dct.reduce((a, b) => a + b, 0),
        e.sum_f64,
        `${e.name}: sum`,
      );
      assert.ok(Math.abs(dct.reduce((a, b) => a + Math.abs(b), 0) / e.abs_sum_f64 - 1) < 1e-12, `${e.name}: abs_sum`);
      continue;
    }
    if (e.kind.endsWith('_weight') && !e.kind.startsWith('bn')) {
      assert.equal(spec.fanIn, e.fan_in, `${e.name}: fan_in`);
      assert.equal(spec.scale, e.scale, `${e.name}: scale`);
    }
    if (e.fnv1a !== null) assert.equal(fnv1a32(e.name, manifest.offset_basis), e.fnv1a, `${e.name}: FNV-1a`);
    const unit = (i: number): number => detfillValues(e.name, 1, spec, manifest.offset_basis, i)[0];
    assert.deepEqual(
      e.first.map((_, i) => unit(i)),
      e.first,
      `${e.name}: first values`,
    );
    assert.equal(unit(e.numel - 1), e.last, `${e.name}: last value`);
    if (e.numel > 1 << 16) continue; // sums of the small tensors only: the fill is per element
    const values = detfillValues(e.name, e.numel, spec, manifest.offset_basis);
    let sum = 0;
    let abs = 0;
    for (const x of values) {
      sum += x;
      abs += Math.abs(x);
    }
    assert.ok(Math.abs(sum - e.sum_f64) <= 1e-9 * Math.max(e.abs_sum_f64, 1e-30), `${e.name}: sum ${sum} vs ${e.sum_f64}`);
    assert.ok(Math.abs(abs - e.abs_sum_f64) <= 1e-9 * Math.max(e.abs_sum_f64, 1e-30), `${e.name}: abs_sum`);
  }
});

test('the scheme input is the README formula (sample values)', () => {
  const x = detfillInput(2, 128);
  assert.equal(x.length, 2 * 3 * 128 * 128);
  assert.equal(x[0], Math.fround(Math.sin(0.05) * Math.cos(0.07)));
  const at = (n: number, c: number, y: number, xx: number): number => x[((n * 3 + c) * 128 + y) * 128 + xx];
  assert.equal(at(1, 2, 127, 5), Math.fround(Math.sin(0.05 * 128 * 3 + 0.3 * 1) * Math.cos(0.07 * 6)));
});
