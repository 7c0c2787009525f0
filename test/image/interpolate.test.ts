import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError } from '../../src/errors.js';
import { cubicResizeMatrix, resizeBilinear, resizeBilinearRows } from '../../src/image/index.js';
import { seeded, testCv } from '../helpers/opencv.js';

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

test('cubicResizeMatrix: W_h · M · W_wᵀ equals opencv.js cv.resize(INTER_CUBIC) on float32, down and up, borders replicated', async () => {
  const { cv } = await testCv();
  const c = cv as unknown as { CV_32FC1: number; INTER_CUBIC: number; resize(a: unknown, b: unknown, s: unknown, fx: number, fy: number, i: number): void };
  const rand = seeded(17);
  for (const [h, w, oh, ow] of [
    [64, 48, 16, 16],
    [37, 23, 16, 9],
    [5, 7, 13, 11],
  ] as const) {
    const m = Float32Array.from({ length: h * w }, () => (rand() < 0.5 ? 0 : 1));
    const src = new cv.Mat(h, w, c.CV_32FC1);
    new Float32Array(src.data.buffer, src.data.byteOffset, h * w).set(m);
    const dst = new cv.Mat(oh, ow, c.CV_32FC1);
    c.resize(src, dst, new cv.Size(ow, oh), 0, 0, c.INTER_CUBIC);
    const want = new Float32Array(dst.data.buffer, dst.data.byteOffset, oh * ow).slice();
    src.delete();
    dst.delete();
    const rows = cubicResizeMatrix(h, oh);
    const cols = cubicResizeMatrix(w, ow);
    for (let y = 0; y < oh; y++) {
      assert.ok(Math.abs(rows.slice(y * h, y * h + h).reduce((a, b) => a + b, 0) - 1) < 1e-6, 'each row of weights sums to 1');
      for (let x = 0; x < ow; x++) {
        let v = 0;
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) v += rows[y * h + i] * m[i * w + j] * cols[x * w + j];
        assert.ok(Math.abs(v - want[y * ow + x]) < 1e-5, `${h}×${w}→${oh}×${ow} at (${y}, ${x}): ${v} vs ${want[y * ow + x]}`);
      }
    }
  }
  // by hand: 256 → 16 reads source 16d + 7.5, taps 16d + 6 … 16d + 9 with weights (−3/32, 19/32, 19/32, −3/32); row 1 reads 22 … 25
  const r = cubicResizeMatrix(256, 16);
  assert.deepEqual(Array.from(r.slice(256 + 22, 256 + 26)), [-3 / 32, 19 / 32, 19 / 32, -3 / 32]);
});

test('resizeBilinearRows: a band of rows is those rows of the whole resize, into a given buffer', () => {
  // the 2×2 → 3×3 case above: rows 1 and 2 are [4, 6, 8] and [8, 10, 12]
  const input = new Float32Array([0, 4, 8, 12]);
  const out = new Float32Array(10).fill(-1);
  assert.equal(resizeBilinearRows(input, [1, 2, 2], [3, 3], 1, 3, out), out);
  assert.deepEqual([...out], [4, 6, 8, 8, 10, 12, -1, -1, -1, -1]);
  assert.deepEqual([...resizeBilinearRows(input, [1, 2, 2], [3, 3], 0, 1)], [0, 2, 4]);
  assert.throws(() => resizeBilinearRows(input, [1, 2, 2], [3, 3], 2, 2), ArgumentError);
  assert.throws(() => resizeBilinearRows(input, [1, 2, 2], [3, 3], 0, 4), ArgumentError);
  assert.throws(() => resizeBilinearRows(input, [1, 2, 2], [3, 3], 0, 3, new Float32Array(8)), ArgumentError);
});
