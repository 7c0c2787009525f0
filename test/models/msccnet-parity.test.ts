import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { F, torch, type Tensor } from '../../src/torch/index.js';
import { loadSafetensors } from '../../src/nn/index.js';
import { applyDetfill, detfillInput } from '../../src/models/detfill.js';
import { MSCCNet } from '../../src/models/msccnet/index.js';
import { tensorStats, type TensorStats } from '../../src/models/stats.js';

// Fixture msccnet-128: the official network, detfill-v1 weights, eval mode (README §1–§6).
const dir = fixtureDir('msccnet-128');
type Nested = number | Nested[];
interface Expected {
  scheme: string; offset_basis: number; input_size: number; batch: number; spectral_side_S: number;
  img_logits: number[][]; mask_logits: Nested; aux_map: Nested;
  mask_argmax_at_input_size: { fake_pixel_count_per_sample: number[]; 'near_tie_pixel_count_per_sample_abs_diff_lt_1e-4': number[] };
  mscc_softmax_max_weight: { mean: number; 'frac_gt_0.999': number; frac_lt_0: number };
  stages: Record<string, TensorStats>;
}
const expected: Expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));

// README §6 tolerances for a float32 port.
const closeTo = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 + 1e-4 * Math.abs(b);
const STAT_REL = 1e-4;

/** Max over elements of |a−b| / (1e-4 + 1e-4·|b|): ≤ 1 passes. */
function worstRatio(ours: ArrayLike<number>, theirs: number[]): number {
  assert.equal(ours.length, theirs.length, 'element count');
  let worst = 0;
  for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]) / (1e-4 + 1e-4 * Math.abs(theirs[i])));
  return worst;
}

const flat = (v: Nested): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);

interface Run { stages: Record<string, TensorStats>; img: Float32Array; mask: Float32Array; aux: Float32Array;
  softmaxRowMax: number[]; argmaxCounts: number[]; fused: Float32Array; input: Float32Array }

function runModel(): Run {
  assert.equal(expected.scheme, 'detfill-v1');
  const { input_size: size, batch, spectral_side_S: S } = expected;
  const model = new MSCCNet({ inputSize: size });
  assert.equal(model.spectralSide, S, 'DCT side from the input size');
  applyDetfill(model, expected.offset_basis);
  model.eval();
  const stages: Record<string, TensorStats> = {};
  const arrays: Record<string, Float32Array> = {};
  const input = detfillInput(batch, size);
  let argmaxCounts: number[] = [];
  torch.noGrad(() => torch.tidy(() => {
    const x = torch.fromTypedArray(input, [batch, 3, size, size]);
    const out = model.forward(x, (name: string, value: Tensor) => {
      const values = value.toTypedArray() as Float32Array;
      arrays[name] = values;
      stages[name] = tensorStats(values, value.shape, expected.stages[name]?.samples.map((s) => s.index) ?? []);
    });
    const up = F.interpolate(out.maskLogits, { size: [size, size], mode: 'bilinear', alignCorners: false });
    const fake = up.argmax(1).toTypedArray();                   // ties → class 0, as PyTorch's argmax
    argmaxCounts = Array.from({ length: batch }, (_, n) => {
      let count = 0;
      for (let p = n * size * size; p < (n + 1) * size * size; p++) count += Number(fake[p]);
      return count;
    });
  }));
  const rows = arrays['mscc.softmax_weights'];
  const softmaxRowMax: number[] = [];
  for (let r = 0; r < rows.length; r += 2) softmaxRowMax.push(Math.max(rows[r], rows[r + 1]));
  return { stages, img: arrays.img_logits, mask: arrays.mask_logits, aux: arrays['mscc.fres_map_output'],
    softmaxRowMax, argmaxCounts, fused: arrays['mfa.fused'], input };
}

const run = runModel();

test('the scheme input equals the fixture input bit for bit', async () => {
  const { tensors } = await loadSafetensors(join(dir, 'tensors.safetensors'));
  assert.deepEqual(run.input, tensors.get('input')!.toTypedArray());
});

test('image logits, mask logits and the aux map match the reference (README §6)', () => {
  const report = {
    img_logits: worstRatio(run.img, flat(expected.img_logits)),
    mask_logits: worstRatio(run.mask, flat(expected.mask_logits)),
    aux_map: worstRatio(run.aux, flat(expected.aux_map)),
  };
  console.log('# worst |a−b|/(1e-4+1e-4|b|)', JSON.stringify(report));
  for (const [name, worst] of Object.entries(report)) assert.ok(worst <= 1, `${name}: worst ratio ${worst}`);
});

test('statistics and samples of the 20 stages match the reference', () => {
  const relErrors: Record<string, number> = {};
  for (const [name, ref] of Object.entries(expected.stages)) {
    const ours = run.stages[name];
    assert.ok(ours, `stage ${name} was not produced`);
    assert.deepEqual(ours.shape, ref.shape, `${name}: shape`);
    // mean: relative to the spread, since some stage means are ~0 (mscc.fres 1e-4 vs std 0.04)
    const rel = {
      mean: Math.abs(ours.mean - ref.mean) / Math.max(Math.abs(ref.mean), ref.std_pop),
      std_pop: Math.abs(ours.std_pop / ref.std_pop - 1),
      abs_max: Math.abs(ours.abs_max / ref.abs_max - 1),
    };
    relErrors[name] = Math.max(rel.mean, rel.std_pop, rel.abs_max);
    for (const [stat, r] of Object.entries(rel)) assert.ok(r <= STAT_REL, `${name}.${stat}: rel error ${r}`);
    ref.samples.forEach((s, i) => assert.ok(closeTo(ours.samples[i].value, s.value),
      `${name}[${s.index.join(',')}]: ${ours.samples[i].value} vs ${s.value}`));
    assert.ok(Math.abs(ours.frac_positive - ref.frac_positive) <= 2e-3, `${name}: frac_positive`);
  }
  console.log('# max rel stat error per stage', JSON.stringify(relErrors));
});

test('MSCC softmax statistics and the up-sampled argmax counts match', () => {
  const rows = run.softmaxRowMax;
  const mean = rows.reduce((a, b) => a + b, 0) / rows.length;
  assert.ok(Math.abs(mean - expected.mscc_softmax_max_weight.mean) < 1e-5, `mean max weight ${mean}`);
  const { fake_pixel_count_per_sample: counts } = expected.mask_argmax_at_input_size;
  const ties = expected.mask_argmax_at_input_size['near_tie_pixel_count_per_sample_abs_diff_lt_1e-4'];
  run.argmaxCounts.forEach((c, n) => assert.ok(Math.abs(c - counts[n]) <= ties[n], `sample ${n}: ${c} fake pixels vs ${counts[n]}`));
});
