import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/torch/index.js';
import { buildMethod } from '../../src/models/registry.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { pooledFeatures, type SLADD, type SladdOutputs } from '../../src/models/sladd/index.js';
import { checkedInput, checkStateDict, compareAll, readParityFolder, tapCollector } from '../helpers/baseline-parity.js';

// baseline-parity/sladd: the official TransferModel('xception', dropout=0.5, return_fea=True) in eval
// mode with detfill-fanin-v1 weights; outputs and the stored intermediates within the README's tolerances.
test('sladd parity: score, fea, map, type, mag, prob_fake and blocks 1/3/7/12, bn4 equal the official detector', async () => {
  const folder = await readParityFolder('sladd');
  const model = buildMethod('sladd') as SLADD;
  model.eval();
  const kinds = applyDetfillFanin(model, folder.keep);
  checkStateDict(folder, model.stateDict(), kinds);
  const input = checkedInput(folder);
  const x = torch.tensor(input.data, input.shape);
  const { tap, values } = tapCollector();
  torch.noGrad(() => {
    const out = model.forward(x) as SladdOutputs;
    for (const name of ['score', 'fea', 'map', 'type', 'mag'] as const) tap(name, out[name]);
    tap('prob_fake', out.imgLogits.softmax(1).narrow(1, 1, 1).reshape([2]));
    // the trunk's stages under the fixture's names (`model.block7` is the map's input; `model.bn4` = features)
    const features = model.model.features(x, { tap: (name, t) => tap(name === 'features' ? 'model.bn4' : `model.${name}`, t) });
    assert.deepEqual(pooledFeatures(features).toArray(), out.fea.toArray(), 'forward reads the same features');
  });
  compareAll(folder, values);
  model.dispose();
});
