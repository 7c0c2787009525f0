import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertComparison, checkStateDict, compareTensor, parityInput, readParityFolder } from '../helpers/baseline-parity.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { buildMethod } from '../../src/models/registry.js';
import type { M2TR, M2trOutputs } from '../../src/models/m2tr/index.js';
import { torch, type Tensor } from '../../src/torch/index.js';

// Fixture baseline-parity/m2tr: the official M2TR (configs/m2tr.yaml, HAS_DECODER True with the
// Localizer's typo fixed) with detfill-fanin-v1 weights, eval mode, 2×3×320×320 (its README §1–§5).
const folder = await readParityFolder('m2tr');
const model = buildMethod('m2tr', { inputSize: JSON.parse(folder.metadata.input_shape)[2] as number }) as M2TR;
const entries = applyDetfillFanin(model, folder.keep, folder.offsetBasis);
// `keep` entries hold the official constructor's values: num_batches_tracked, which its sizing
// forward in train mode sets to 1 in the EfficientNet (README §2); unused in eval
torch.noGrad(() => {
  for (const e of folder.keys.entries) if (e.kind === 'keep') model.stateDict().get(e.name)!.fill_(e.first[0]);
});
model.eval();

const input = parityInput(folder);
const taps = new Map<string, Tensor>();
const out: M2trOutputs = torch.noGrad(() =>
  model.forward(torch.fromTypedArray(input.data, input.shape), (name, t) => {
    if (folder.tensors[name] !== undefined) taps.set(name, t);
  }),
);

const values = (t: Tensor) => t.contiguous().toTypedArray() as Float32Array;

test('m2tr: our state dict is the official one, filled as keys.json records (names, order, kinds, values)', () => {
  checkStateDict(folder, model.stateDict(), entries);
});

test('m2tr: the official outputs (logits = two sigmoids, features, Localizer mask, test score) within the README tolerances', () => {
  const sigmoids = out.imgLogits.sigmoid(); // the official eval forward's `logits`
  assertComparison(compareTensor(folder, 'logits', values(sigmoids), sigmoids.shape));
  assertComparison(compareTensor(folder, 'features', values(out.features), out.features.shape));
  const mask = out.localizerLogits.sigmoid();
  assertComparison(compareTensor(folder, 'mask', values(mask), mask.shape));
  const probFake = sigmoids.softmax(1).select(1, 1); // tools/test.py: softmax over the two sigmoids
  assertComparison(compareTensor(folder, 'prob_fake', values(probFake), probFake.shape));
});

test('m2tr: every stored intermediate within its README tolerance', () => {
  const intermediates = Object.entries(folder.tensors).filter(([, info]) => info.role === 'intermediate');
  assert.equal(intermediates.length, 13, "the README's 13 intermediates");
  for (const [name] of intermediates) {
    const t = taps.get(name);
    assert.ok(t !== undefined, `${name} was not produced by the forward's taps`);
    assertComparison(compareTensor(folder, name, values(t), t.shape));
  }
});

test('m2tr: the mask logits are the Localizer logit resized to the input side, as [0, z]', () => {
  assert.deepEqual(out.maskLogits.shape, [2, 2, 320, 320]);
  assert.equal(out.maskLogits.select(1, 0).abs().max().item(), 0);
  assert.deepEqual(out.localizerLogits.shape, [2, 1, 316, 316]);
});
