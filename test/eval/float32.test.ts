import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expf, fmaf } from '../../src/eval/index.js';

const f32 = (x: number) => Math.fround(x);

test('fmaf rounds once: a halfway double sum with a positive remainder rounds up', () => {
  // a·b = 64 + ε exactly (the double product of two float32 is exact) with 0 < ε < 2⁻²³, so
  // 2³⁰ + a·b lies just above the float32 midpoint 2³⁰ + 64 (spacing 128 there). In double the
  // sum rounds to the midpoint itself, and rounding that to float32 goes to even: 2³⁰.
  const a = f32(1.000242829322815);
  const b = f32(63.98446273803711);
  const eps = a * b - 64;
  assert.ok(eps > 0 && eps < 2 ** -23);
  assert.equal(f32(a * b + 2 ** 30), 2 ** 30, 'the double-rounded answer');
  assert.equal(fmaf(a, b, 2 ** 30), 2 ** 30 + 128);
  assert.equal(fmaf(a, -b, -(2 ** 30)), -(2 ** 30 + 128));
  assert.equal(fmaf(a, b, -64), f32(eps), 'no rounding issue far from a midpoint');
});

test('expf is within one float32 ulp of exp and exact at the ends', () => {
  assert.equal(expf(0), 1);
  assert.equal(expf(-105), 0);
  assert.equal(expf(101), Infinity);
  let worst = 0;
  for (let x = -80; x <= 80; x += 0.0137) {
    const xf = f32(x);
    const exact = Math.exp(xf);
    const ulp = 2 ** (Math.floor(Math.log2(exact)) - 23);
    worst = Math.max(worst, Math.abs(expf(xf) - exact) / ulp);
  }
  assert.ok(worst <= 1, `worst error ${worst} ulp`);
});
