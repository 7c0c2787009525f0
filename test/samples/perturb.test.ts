import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError } from '../../src/errors.js';
import { parsePerturbations, perturb, perturbationName } from '../../src/samples/perturb.js';
import { Rng } from '../../src/samples/rng.js';

/** A w×h 3-channel image whose three channels all equal `gray(x, y)`. */
function image(w: number, h: number, gray: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.fill(gray(x, y), (y * w + x) * 3, (y * w + x) * 3 + 3);
  return out;
}
const channel0 = (img: Uint8Array): number[] => [...img].filter((_, i) => i % 3 === 0);
const o = { seed: 1, id: 'a', order: 'rgb' as const };

test('parsePerturbations: one perturbation per level, named kind-level; bad levels are refused', () => {
  const ps = parsePerturbations(['jpeg:90,70', 'blur:3', 'noise:5,10', 'resize:0.75']);
  assert.deepEqual(ps.map(perturbationName), ['jpeg-90', 'jpeg-70', 'blur-3', 'noise-5', 'noise-10', 'resize-0.75']);
  for (const bad of ['jpeg:0', 'blur:4', 'noise:-1', 'resize:1.5', 'sharpen:2']) assert.throws(() => parsePerturbations([bad]), ArgumentError, bad);
  // malformed lists (issue 31, item 18): empty levels, stray separators, a level twice (two runs into one folder)
  for (const bad of ['jpeg:,', 'jpeg:', 'jpeg:90,', 'jpeg:,90', 'jpeg:90,,70', 'resize:0.5.5', 'resize:.5', 'noise:5,5', 'noise:5,5.0']) {
    assert.throws(() => parsePerturbations([bad]), ArgumentError, bad);
  }
  assert.throws(() => parsePerturbations(['jpeg:90', 'jpeg:90']), /each level once/);
});

test('blur:3 of a 5×5 impulse is the outer product of the taps [¼, ½, ¼] (rounded half up)', async () => {
  const out = await perturb(
    image(5, 5, (x, y) => (x === 2 && y === 2 ? 255 : 0)),
    5,
    5,
    { kind: 'blur', kernel: 3 },
    o,
  );
  // 255·(¼, ½, ¼)ᵀ(¼, ½, ¼): corners 15.94 → 16, edges 31.875 → 32, centre 63.75 → 64
  assert.deepEqual(channel0(out), [0, 0, 0, 0, 0, 0, 16, 32, 16, 0, 0, 32, 64, 32, 0, 0, 16, 32, 16, 0, 0, 0, 0, 0, 0]);
});

test('resize:0.5 of a 4×4 step: 2×2 area average down, OpenCV linear back up', async () => {
  const out = await perturb(
    image(4, 4, (x) => (x < 2 ? 0 : 200)),
    4,
    4,
    { kind: 'resize', scale: 0.5 },
    o,
  );
  // down: [0, 200] per row; up 2 → 4 columns at source x = −¼, ¼, ¾, 1¼: 0, ¼·200, ¾·200, 200
  assert.deepEqual(channel0(out), [0, 50, 150, 200, 0, 50, 150, 200, 0, 50, 150, 200, 0, 50, 150, 200]);
});

test('noise: seeded by (seed, sample id), zero-mean with the asked σ, clamped to 0–255', async () => {
  const flat = image(64, 64, () => 128);
  const p = { kind: 'noise', sigma: 10 } as const;
  const a = await perturb(flat, 64, 64, p, o);
  assert.deepEqual(await perturb(flat, 64, 64, p, o), a, 'deterministic');
  assert.notDeepEqual(await perturb(flat, 64, 64, p, { ...o, id: 'b' }), a, 'another sample, other noise');
  assert.notDeepEqual(await perturb(flat, 64, 64, p, { ...o, seed: 2 }), a, 'another seed, other noise');
  const d = [...a].map((v) => v - 128);
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / d.length);
  // 12288 draws: the mean's standard error is 0.09, the rounding adds 1/12 to the variance
  assert.ok(Math.abs(mean) < 0.4, `mean ${mean}`);
  assert.ok(Math.abs(sd - Math.sqrt(100 + 1 / 12)) < 0.3, `sd ${sd}`);
  const white = await perturb(
    image(8, 8, () => 255),
    8,
    8,
    p,
    o,
  );
  assert.ok(white.every((v) => v <= 255) && white.some((v) => v < 255));
});

test('jpeg: deterministic, stronger at lower quality, and the same for BGR as for RGB buffers', async () => {
  const rng = new Rng(9);
  const rgb = Uint8Array.from({ length: 32 * 32 * 3 }, () => rng.randint(0, 256));
  const err = (out: Uint8Array): number => out.reduce((s, v, i) => s + Math.abs(v - rgb[i]!), 0) / out.length;
  const q90 = await perturb(rgb, 32, 32, { kind: 'jpeg', quality: 90 }, o);
  const q30 = await perturb(rgb, 32, 32, { kind: 'jpeg', quality: 30 }, o);
  assert.deepEqual(await perturb(rgb, 32, 32, { kind: 'jpeg', quality: 90 }, o), q90);
  assert.ok(err(q30) > err(q90) && err(q90) > 0, `mean abs error q30 ${err(q30)}, q90 ${err(q90)}`);
  const swap = (x: Uint8Array): Uint8Array => x.map((_, i) => x[i - (i % 3) + 2 - (i % 3)]!);
  assert.deepEqual(await perturb(swap(rgb), 32, 32, { kind: 'jpeg', quality: 90 }, { ...o, order: 'bgr' }), swap(q90));
});
