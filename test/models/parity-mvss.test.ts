import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readParityFolder, checkStateDict, checkedInput, compareAll, compareTensor, logComparison, tapCollector } from '../helpers/baseline-parity.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { MVSSNet } from '../../src/models/mvss/index.js';
import { torch } from '../../src/torch/index.js';

// Fixture baseline-parity/mvss: get_mvss(sobel, constrain, nclass=1) at the fixture's input size.
const folder = await readParityFolder('mvss');

test('MVSS-Net equals the official forward: res1, x0, the image score, the uint8 map and 29 intermediates', () => {
  const { data, shape } = checkedInput(folder);
  const model = new MVSSNet({ inputSize: shape[2] }).eval();
  const kinds = applyDetfillFanin(model, folder.keep, folder.offsetBasis);
  checkStateDict(folder, model.stateDict(), kinds, { extra: ['image_head.fc.weight', 'image_head.fc.bias'] }); // the paper's image head
  const { tap, values } = tapCollector();
  torch.noGrad(() =>
    torch.tidy(() => {
      const out = model.forward(torch.fromTypedArray(data, shape), tap);
      tap('res1', out.edgeLogits);
      tap('constrain_conv.kernel_normalised', model.constrain_conv!.normalisedKernel());
      const probability = out.maskLogits.narrow(1, 1, 1).sigmoid(); // σ(x0)
      tap('score', probability.reshape([shape[0], -1]).max(1).values);
      tap('mask_u8', probability.mul(255).to('uint8').squeeze(1)); // ToPILImage: mul(255).byte(), truncation // inference_single's max_score
    }),
  );
  compareAll(folder, values, ['mask_u8']);

  // README: |Δ| ≤ 1 on mask_u8 (pixels where 255·σ is within rounding of an integer)
  const mask = values.get('mask_u8')!;
  const cell = folder.toleranceCells.get('mask_u8')!;
  const bound = Number(/^\|Δ\| ≤ (\d+)/.exec(cell)![1]);
  const row = compareTensor(folder, 'mask_u8', mask.data, mask.shape, bound);
  logComparison(row);
  assert.ok(row.pass, `mask_u8 differs by ${row.maxAbs}`);
  model.dispose();
});
