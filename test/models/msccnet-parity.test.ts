import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { F, torch } from '../../src/torch/index.js';
import { loadSafetensors } from '../../src/nn/index.js';
import { detfillInput } from '../../src/models/detfill.js';
import { runDetfillCheck } from '../../src/models/detfill-check.js';
import { closeTo, compareOutputs, flat, readEvalExpected } from '../helpers/msccnet-fixtures.js';

// Fixture msccnet-128: the official network, detfill-v1 weights, eval mode (README §1–§6).
// The run goes through runDetfillCheck, the function behind `msccnet model --check-detfill`.
const dir = fixtureDir('msccnet-128');
const expected = readEvalExpected(dir);

const STAT_REL = 1e-4;
const compare = (ours: ArrayLike<number>, theirs: number[]): ReturnType<typeof compareOutputs> => {
  assert.equal(ours.length, theirs.length, 'element count');
  return compareOutputs(ours, theirs);
};

assert.equal(expected.scheme, 'detfill-v1');
const { input_size: size, batch } = expected;
const run = runDetfillCheck({
  size,
  batch,
  offsetBasis: expected.offset_basis,
  stageSamples: Object.fromEntries(Object.entries(expected.stages).map(([name, s]) => [name, s.samples.map((x) => x.index)])),
  keepStages: ['img_logits', 'mask_logits', 'mscc.fres_map_output', 'mscc.softmax_weights'],
});
const values = run.values!;

test('the run uses the fixture geometry and its exact input', async () => {
  assert.equal(run.spectral_side_S, expected.spectral_side_S, 'DCT side from the input size');
  const { tensors } = await loadSafetensors(join(dir, 'tensors.safetensors'));
  assert.deepEqual(detfillInput(batch, size), tensors.get('input')!.toTypedArray());
});

test('image logits, mask logits and the aux map match the reference (README §6)', () => {
  const report = {
    img_logits: compare(values.img_logits, flat(expected.img_logits)),
    prob_fake: compare(run.prob_fake, expected.prob_fake),
    mask_logits: compare(values.mask_logits, flat(expected.mask_logits)),
    aux_map: compare(values['mscc.fres_map_output'], flat(expected.aux_map)),
  };
  console.log('# outputs vs reference', JSON.stringify(report));
  for (const [name, r] of Object.entries(report)) assert.ok(r.ratio <= 1, `${name}: worst ratio ${r.ratio}`);
});

test('statistics and samples of the 20 stages match the reference', () => {
  const relErrors: Record<string, number> = {};
  for (const [name, ref] of Object.entries(expected.stages)) {
    const ours = run.stages[name];
    assert.ok(ours, `stage ${name} was not produced`);
    assert.deepEqual(ours.shape, ref.shape, `${name}: shape`);
    // mean relative to the spread: some stage means are ~0 (mscc.fres 1e-4 with std 0.04)
    const rel = {
      mean: Math.abs(ours.mean - ref.mean) / Math.max(Math.abs(ref.mean), ref.std_pop),
      std_pop: Math.abs(ours.std_pop / ref.std_pop - 1),
      abs_max: Math.abs(ours.abs_max / ref.abs_max - 1),
    };
    relErrors[name] = Math.max(rel.mean, rel.std_pop, rel.abs_max);
    for (const [stat, r] of Object.entries(rel)) assert.ok(r <= STAT_REL, `${name}.${stat}: rel error ${r}`);
    assert.equal(ours.samples.length, ref.samples.length, `${name}: samples`);
    ref.samples.forEach((s, i) => {
      const value = ours.samples[i].value;
      assert.ok(value !== null && closeTo(value, s.value!), `${name}[${s.index.join(',')}]: ${value} vs ${s.value}`);
    });
  }
  console.log('# max rel stat error per stage', JSON.stringify(relErrors));
});

test('MSCC softmax statistics and the up-sampled argmax counts match', () => {
  const rows = values['mscc.softmax_weights'];
  let sumMax = 0;
  for (let r = 0; r < rows.length; r += 2) sumMax += Math.max(rows[r], rows[r + 1]);
  const meanMax = sumMax / (rows.length / 2);
  assert.ok(Math.abs(meanMax - expected.mscc_softmax_max_weight.mean) < 1e-5, `mean max weight ${meanMax}`);
  const counts = torch.tidy(() => {
    const logits = torch.fromTypedArray(values.mask_logits, run.stages.mask_logits.shape);
    const fake = F.interpolate(logits, { size: [size, size], mode: 'bilinear', alignCorners: false }).argmax(1); // ties → 0
    return fake.sum([1, 2]).toArray();
  });
  const { fake_pixel_count_per_sample: ref } = expected.mask_argmax_at_input_size;
  const ties = expected.mask_argmax_at_input_size['near_tie_pixel_count_per_sample_abs_diff_lt_1e-4'];
  counts.forEach((c, n) => assert.ok(Math.abs(c - ref[n]) <= ties[n], `sample ${n}: ${c} fake pixels vs ${ref[n]}`));
});
