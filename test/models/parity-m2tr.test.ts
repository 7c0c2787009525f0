import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStateDict, checkedInput, compareAll, readParityFolder, tapCollector } from '../helpers/baseline-parity.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { buildMethod } from '../../src/models/registry.js';
import type { M2TR, M2trOutputs } from '../../src/models/m2tr/index.js';
import { torch } from '../../src/torch/index.js';

// Fixture baseline-parity/m2tr: the official M2TR (configs/m2tr.yaml, HAS_DECODER True with the
// Localizer's typo fixed) with detfill-fanin-v1 weights, eval mode, 2×3×320×320 (its README §1–§5).
const folder = await readParityFolder('m2tr');
const input = checkedInput(folder);
const model = buildMethod('m2tr', { inputSize: input.shape[2] }) as M2TR;
const entries = applyDetfillFanin(model, folder.keep, folder.offsetBasis);
// `keep` entries hold the official constructor's values: num_batches_tracked, which its sizing
// forward in train mode sets to 1 in the EfficientNet (README §2); unused in eval
torch.noGrad(() => {
  for (const e of folder.keys.entries) if (e.kind === 'keep') model.stateDict().get(e.name)!.fill_(e.first[0]);
});
model.eval();

// the intermediates under their official module names through the forward's tap
const { tap, values } = tapCollector();
const out: M2trOutputs = torch.noGrad(() => model.forward(torch.fromTypedArray(input.data, input.shape), (name, t) => folder.tensors[name] && tap(name, t)));
// the official eval outputs: `logits` = the two sigmoids, the Localizer's sigmoid map, and
// tools/test.py's score, a softmax over the two sigmoids
const sigmoids = torch.noGrad(() => out.imgLogits.sigmoid());
tap('logits', sigmoids);
tap('features', out.features);
tap(
  'mask',
  torch.noGrad(() => out.localizerLogits.sigmoid()),
);
tap(
  'prob_fake',
  torch.noGrad(() => sigmoids.softmax(1).select(1, 1)),
);

test('m2tr: our state dict is the official one, filled as keys.json records (names, order, kinds, values)', () => {
  checkStateDict(folder, model.stateDict(), entries);
});

test('m2tr: the 4 official outputs and 13 intermediates within the README tolerances', () => {
  const rows = compareAll(folder, values);
  assert.equal(rows.length, 17);
});

test('m2tr: the mask logits are the Localizer logit resized to the input side, as [0, z]', () => {
  assert.deepEqual(out.maskLogits.shape, [2, 2, 320, 320]);
  assert.equal(out.maskLogits.select(1, 0).abs().max().item(), 0);
  assert.deepEqual(out.localizerLogits.shape, [2, 1, 316, 316]);
});
