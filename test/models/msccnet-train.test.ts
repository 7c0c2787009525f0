import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { torch } from '../../src/torch/index.js';
import { SGD, loadSafetensors } from '../../src/nn/index.js';
import { applyDetfill, detfillInput } from '../../src/models/detfill.js';
import { MSCCNet, msccnetLosses } from '../../src/models/msccnet/index.js';
import {
  LOSS_KEYS,
  TRAIN_TOLERANCE,
  ZERO_GRAD_DELTA_TOLERANCE,
  ZERO_GRAD_PARAM,
  absSum,
  deltaTolerance,
  gradTolerance,
  l2,
  readTrainFixture,
  rel,
  spectralSideOf,
  sum,
} from '../helpers/msccnet-fixtures.js';

// Fixture msccnet-128-train: train-mode losses, one official SGD step, second forward (README §3–§6).
const dir = fixtureDir('msccnet-128-train');
const evalDir = fixtureDir('msccnet-128');
const fixture = readTrainFixture(dir);
const S = spectralSideOf(evalDir);
const ref = fixture.float64;

test('train mode: official losses, one SGD step, BN running stats and the second forward', async () => {
  const { input_size: size, batch } = fixture;
  assert.equal(size / 8, S);
  const model = new MSCCNet({ inputSize: size, dropout: 0 }); // the fixture disables Dropout2d (p = 0)
  applyDetfill(model, fixture.offset_basis);
  model.train();
  const { tensors: targetsFile } = await loadSafetensors(join(dir, 'targets.safetensors'));
  const targets = { segmentation: targetsFile.get('target_segmentation')!, label: targetsFile.get('target_label')! };
  const x = torch.fromTypedArray(detfillInput(batch, size), [batch, 3, size, size]);
  const tracked = Object.keys(ref.params);
  const params = new Map(model.namedParameters());
  const before = new Map(tracked.map((n) => [n, params.get(n)!.toTypedArray() as Float32Array]));

  const losses = msccnetLosses(model.forward(x), targets, { auxLoss: model.config.auxLoss });
  const lossErrors: Record<string, number> = {};
  for (const key of LOSS_KEYS) {
    lossErrors[key] = rel(losses[key]!.item(), ref.loss_step0[key]);
    assert.ok(lossErrors[key] <= TRAIN_TOLERANCE.lossStep0, `${key}: ${losses[key]!.item()} vs ${ref.loss_step0[key]}`);
  }
  console.log('# step-0 loss rel errors', JSON.stringify(lossErrors));

  const state = model.stateDict();
  for (const [bn, stats] of Object.entries(ref.bn_running_stats_after_first_forward)) {
    for (const key of ['running_mean', 'running_var'] as const) {
      const v = state.get(`${bn}.${key}`)!.toTypedArray() as Float32Array;
      assert.ok(rel(sum(v), stats[key].sum) <= 1e-4, `${bn}.${key}: sum ${sum(v)} vs ${stats[key].sum}`);
      stats[key].first4!.forEach((r, i) => assert.ok(rel(v[i], r) <= 1e-4, `${bn}.${key}[${i}]`));
    }
    assert.equal(Number(state.get(`${bn}.num_batches_tracked`)!.item()), stats.num_batches_tracked);
  }

  losses.total.backward();
  const gradNorm = Math.sqrt(torch.tidy(() => model.parameters().reduce((acc, p) => acc + p.grad!.double().pow(2).sum().item(), 0)));
  const gradNormErr = rel(gradNorm, ref.grad_global_l2_norm_all_params);
  assert.ok(gradNormErr <= TRAIN_TOLERANCE.gradNorm, `global grad norm ${gradNorm}`);
  const gradErrors: Record<string, number> = {};
  for (const name of tracked) {
    const g = params.get(name)!.grad!.toTypedArray() as Float32Array;
    const r = ref.params[name].grad;
    if (name === ZERO_GRAD_PARAM) continue; // its gradient is 0 up to rounding (README §5)
    gradErrors[name] = Math.max(rel(l2(g), r.l2), rel(absSum(g), r.abs_sum));
    assert.ok(gradErrors[name] <= gradTolerance(name), `${name}: grad l2 ${l2(g)} vs ${r.l2}`);
  }

  const { lr, momentum, weight_decay: weightDecay } = ref.optimizer;
  const sgd = new SGD(model.parameters(), { lr, momentum, weightDecay });
  sgd.step();
  const deltaErrors: Record<string, number> = {};
  for (const name of tracked) {
    const after = params.get(name)!.toTypedArray() as Float32Array;
    const b = before.get(name)!;
    const delta = after.map((v, i) => v - b[i]);
    const r = ref.params[name].delta;
    if (name === ZERO_GRAD_PARAM) {
      // weight decay alone: −lr·wd·p
      assert.ok(rel(delta[0], r.sum) <= ZERO_GRAD_DELTA_TOLERANCE, `mscc.fuse.bias: delta ${delta[0]} vs ${r.sum}`);
      continue;
    }
    // f32 subtraction of nearby values: compare the step in float64 from the exact before/after
    deltaErrors[name] = Math.max(rel(l2(delta), r.l2), rel(absSum(delta), r.abs_sum));
    assert.ok(deltaErrors[name] <= deltaTolerance(name), `${name}: delta l2 ${l2(delta)} vs ${r.l2}`);
  }
  console.log('# grad rel errors', JSON.stringify(gradErrors), 'global', gradNormErr);
  console.log('# delta rel errors', JSON.stringify(deltaErrors));

  const after = torch.noGrad(() => msccnetLosses(model.forward(x), targets, { auxLoss: true }));
  const afterErrors: Record<string, number> = {};
  for (const key of LOSS_KEYS) {
    afterErrors[key] = rel(after[key]!.item(), ref.loss_after_step[key]);
    assert.ok(afterErrors[key] <= TRAIN_TOLERANCE.lossAfterStep, `after step ${key}: ${after[key]!.item()} vs ${ref.loss_after_step[key]}`);
  }
  console.log('# loss after step rel errors', JSON.stringify(afterErrors));
});
