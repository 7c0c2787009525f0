import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/torch/index.js';
import { dctFilter, officialDctWeight, paperDctWeight } from '../../src/models/msccnet/dct.js';
import { MSCCNet } from '../../src/models/msccnet/index.js';

const plane = (w: Float32Array, ch: number, side: number): Float32Array => w.subarray(ch * side * side, (ch + 1) * side * side);
const basis = (u: number, v: number, side: number): Float32Array => {
  const out = new Float32Array(side * side);
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) out[i * side + j] = dctFilter(i, u, side) * dctFilter(j, v, side);
  return out;
};

test('official DCT: 64 bases, u = ⌊ch/64⌋ on rows, v = ⌊ch/8⌋ mod 8 on columns (official-spec §5.1)', () => {
  const side = 8;
  const w = officialDctWeight(512, side);
  for (const ch of [0, 7, 8, 63, 64, 130, 300, 511]) {
    assert.deepEqual(plane(w, ch, side), basis(Math.floor(ch / 64), Math.floor(ch / 8) % 8, side), `channel ${ch}`);
  }
  assert.equal(w[0], 1 / side);
});

test('paper DCT: N bases of the first √N×√N grid, one per group, in the paper order', () => {
  const side = 8;
  const w4 = paperDctWeight(64, side, 4); // 4 groups of 16 channels
  [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ].forEach(([u, v], g) => {
    assert.deepEqual(plane(w4, 16 * g, side), basis(u, v, side), `N=4 group ${g}`);
    assert.deepEqual(plane(w4, 16 * g + 15, side), basis(u, v, side), `N=4 group ${g}, last channel`);
  });
  const w16 = paperDctWeight(64, side, 16);
  assert.deepEqual(plane(w16, 4 * 6, side), basis(1, 2, side), 'N=16 group 6 = (1,2)');
  assert.ok(
    paperDctWeight(64, side, 1).every((x) => x === 1 / side),
    'N=1 = (0,0), a constant',
  );
});

test('os16 and MFA: layer2 is brought to the stride-16 size (paper "aligned layer")', () => {
  const model = new MSCCNet({ backboneDepth: 18, outputStride: 16, inputSize: 64, featsChannels: 64 }).eval();
  const shapes = torch.noGrad(() =>
    torch.tidy(() => {
      const out = model.forward(torch.randn([1, 3, 64, 64]));
      return [out.maskLogits.shape, out.auxMap!.shape, out.imgLogits.shape];
    }),
  );
  assert.deepEqual(shapes, [
    [1, 2, 4, 4],
    [1, 2, 4, 4],
    [1, 2],
  ]);
});
