import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError } from '../../src/errors.js';
import { resizeBilinear } from '../../src/image/index.js';

test('upsampling 1×2 → 1×4 uses half-pixel centres clamped at 0', () => {
  // src = (dst + 0.5)·(2/4) − 0.5 = −0.25 → 0, 0.25, 0.75, 1.25 (i0 = 1 = last, so i1 = 1)
  const out = resizeBilinear(new Float32Array([0, 1]), [1, 1, 2], [1, 4]);
  assert.deepEqual([...out], [0, 0.25, 0.75, 1]);
});

test('downsampling 4 → 2 averages the two middle source pixels of each half', () => {
  // src = (dst + 0.5)·2 − 0.5 = 0.5, 2.5
  const out = resizeBilinear(new Float32Array([0, 1, 2, 3, 10, 11, 12, 13]), [2, 1, 4], [1, 2]);
  assert.deepEqual([...out], [0.5, 2.5, 10.5, 12.5]);
});

test('2×2 → 3×3 blends along width, then height', () => {
  // per axis src = (dst + 0.5)·(2/3) − 0.5 = −1/6 → 0, 0.5, 7/6 (i0 = 1 = last)
  const out = resizeBilinear(new Float32Array([0, 4, 8, 12]), [1, 2, 2], [3, 3]);
  assert.deepEqual([...out], [0, 2, 4, 4, 6, 8, 8, 10, 12]);
});

test('equal sizes copy the input, per axis', () => {
  const input = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.sin(i) * 7);
  assert.deepEqual(resizeBilinear(input, [2, 3, 5], [3, 5]), input);
  const rowsOnly = resizeBilinear(input, [2, 3, 5], [3, 10]); // rows untouched, columns interpolated
  assert.equal(rowsOnly[10], input[5]);
});

test('a data length that does not match the shape is an ArgumentError', () => {
  assert.throws(() => resizeBilinear(new Float32Array(5), [1, 2, 2], [4, 4]), ArgumentError);
  assert.throws(() => resizeBilinear(new Float32Array(4), [1, 2, 2], [0, 4]), ArgumentError);
});
