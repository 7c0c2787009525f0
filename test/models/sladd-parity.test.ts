import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, type Tensor } from '../../src/torch/index.js';
import { buildMethod } from '../../src/models/registry.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { Xception } from '../../src/models/backbones/xception.js';
import type { SLADD, SladdOutputs } from '../../src/models/sladd/index.js';
import { assertComparison, checkStateDict, compareTensor, parityInput, readParityFolder } from '../helpers/baseline-parity.js';

// baseline-parity/sladd: the official TransferModel('xception', dropout=0.5, return_fea=True) in eval
// mode with detfill-fanin-v1 weights; outputs and the stored intermediates within the README's tolerances.
test('sladd parity: score, fea, map, type, mag, prob_fake and blocks 1/3/7/12, bn4 equal the official detector', async () => {
  const folder = await readParityFolder('sladd');
  const model = buildMethod('sladd') as SLADD;
  model.eval();
  const kinds = applyDetfillFanin(model, folder.keep);
  checkStateDict(folder, model.stateDict(), kinds);
  const input = parityInput(folder);
  const x = torch.tensor(input.data, input.shape);
  const compare = (name: string, t: Tensor) => assertComparison(compareTensor(folder, name, t.toTypedArray() as Float32Array, t.shape));
  torch.noGrad(() => {
    const out = model.forward(x) as SladdOutputs;
    for (const name of ['score', 'fea', 'map', 'type', 'mag'] as const) compare(name, out[name]);
    compare('prob_fake', out.imgLogits.softmax(1).narrow(1, 1, 1).reshape([2]));
    // the official fea_part chain, block by block, for the stored intermediates
    const m = model.model;
    let h = m.bn2.forward(m.conv2.forward(m.bn1.forward(m.conv1!.forward(x)).relu())).relu();
    const blocks = [m.block1, m.block2, m.block3, m.block4, m.block5, m.block6, m.block7, m.block8, m.block9, m.block10, m.block11, m.block12];
    blocks.forEach((b, i) => {
      h = b.forward(h);
      if ([1, 3, 7, 12].includes(i + 1)) compare(`model.block${i + 1}`, h);
    });
    const bn4 = m.bn4.forward(m.conv4.forward(m.bn3.forward(m.conv3.forward(h)).relu()));
    compare('model.bn4', bn4);
    assert.deepEqual(Xception.pooled(bn4).toArray(), out.fea.toArray(), 'entryFlow/exitFlow are the fea_part chain');
  });
  model.dispose();
});
