import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch } from '../../src/torch/index.js';
import { applyDetfillFanin } from '../../src/models/detfill-fanin.js';
import { HiFiNet, isolatingDistance, ISOLATING_THRESHOLD } from '../../src/models/hifinet/index.js';
import { methodComplexity } from '../../src/onnx/complexity.js';
import { checkedInput, checkStateDict, compareAll, compareTensor, logComparison, readParityFolder, tapCollector } from '../helpers/baseline-parity.js';
import { tensorOf } from '../helpers/safetensors.js';

// baseline-parity/hifinet: the official FENet (seg_hrnet.py) + SegNet (NLCDetection_loc.py) in eval
// mode with detfill-fanin-v1 weights; the outputs, the official image and mask decisions and the
// stored intermediates within the README's tolerances.
test('hifinet parity: mask_binary, mask1_fea, cls_4..cls_1, p_forged, the decisions and the intermediates equal the official model', async () => {
  const folder = await readParityFolder('hifinet');
  const model = new HiFiNet().eval();
  const kinds = applyDetfillFanin(model, folder.keep);
  checkStateDict(folder, model.stateDict(), kinds);
  // the kept constants (Gaussian kernels, all-ones mask convs) as built equal the official ones bit for bit
  const state = model.stateDict();
  for (const [name, info] of Object.entries(folder.tensors)) {
    if (info.role !== 'constant') continue;
    assert.deepEqual(Array.from(state.get(name)!.toTypedArray() as Float32Array), Array.from(tensorOf(folder.expected, name, 'F32').data), `${name}: constant`);
  }

  const input = checkedInput(folder);
  const x = torch.tensor(input.data, input.shape);
  const { tap, values } = tapCollector();
  torch.noGrad(() => {
    const out = model.forward(x, tap);
    for (const name of ['mask1_fea', 'mask_binary', 'cls_4', 'cls_3', 'cls_2', 'cls_1'] as const) tap(name, out[name]);
    tap('p_forged', out.imgLogits.softmax(1).select(1, 1));
    tap('cls_1_argmax', out.cls_1.argmax(1));
  });
  const derived = ['cls_1_argmax', 'level1_res', 'pred_mask_ce', 'dm_dist_demo', 'dm_pred_demo'];
  compareAll(folder, values, derived);

  // HiFi_Net.detect: argmax of cls_1 and level_1_convert (index ≠ 0); Inference_loc 'ce': mask_binary > 0.5
  const argmax = Array.from(values.get('cls_1_argmax')!.data);
  assert.deepEqual(argmax, Array.from(tensorOf(folder.expected, 'cls_1_argmax', 'I64').data, Number), 'cls_1 argmax');
  assert.deepEqual(
    argmax.map((i) => (i !== 0 ? 1 : 0)),
    Array.from(tensorOf(folder.expected, 'level1_res', 'I64').data, Number),
    'level1_res',
  );
  const maskBinary = values.get('mask_binary')!.data;
  const predCe = tensorOf(folder.expected, 'pred_mask_ce', 'U8').data;
  assert.equal(
    predCe.findIndex((v, i) => v !== (maskBinary[i] > 0.5 ? 1 : 0)),
    -1,
    'pred_mask_ce',
  );

  // 'dm': the distance to the README's demo centre and its 1.85·R decision, up to the README's near-ties
  const readme = readFileSync(join(folder.dir, 'README.md'), 'utf8');
  const demo = /DEMO centre c = ([\d.]+) \(all 18 entries\) and R = ([\d.]+)/.exec(readme.replace(/\*\*/g, '').replace(/\s+/g, ' '));
  assert.ok(demo !== null, 'the README states the demo centre and radius');
  const [center, radius] = [Number(demo[1]), Number(demo[2])];
  const dist = torch.noGrad(() => isolatingDistance(torch.tensor(values.get('mask1_fea')!.data as Float32Array, [2, 18, 256, 256]), center));
  const distValues = dist.toTypedArray() as Float32Array;
  const distRow = compareTensor(folder, 'dm_dist_demo', distValues, dist.shape);
  logComparison(distRow);
  assert.ok(distRow.pass, `dm_dist_demo: max abs ${distRow.maxAbs}`);
  const threshold = Math.fround(Math.fround(radius) * ISOLATING_THRESHOLD); // computed in the tensor's dtype
  const refDist = tensorOf(folder.expected, 'dm_dist_demo', 'F32').data;
  const predDm = tensorOf(folder.expected, 'dm_pred_demo', 'U8').data;
  const checks = JSON.parse(folder.metadata.checks) as Record<string, number>;
  let flips = 0;
  predDm.forEach((v, i) => {
    if (v === (distValues[i] > threshold ? 1 : 0)) return;
    assert.ok(Math.abs(refDist[i] - threshold) < 1e-5, `dm_pred_demo differs at ${i} away from the threshold`);
    flips++;
  });
  assert.ok(flips <= checks['dm_dist_demo_within_1e-5_of_1.48'], `dm_pred_demo: ${flips} near-tie flips`);

  // parameters: keys.json's trainable entries (baselines-part2.md: FENet 6,361,208 + SegNet 3,766,105),
  // plus the fixed all-ones mask convs, which are parameters with requires_grad False
  const numel = (keep: (e: (typeof folder.keys.entries)[number]) => boolean) => folder.keys.entries.filter(keep).reduce((n, e) => n + e.numel, 0);
  const trainable = numel((e) => e.kind !== 'keep' && !/running_/.test(e.name));
  const fixed = numel((e) => /mask_conv\.weight$/.test(e.name));
  assert.equal(
    model.parameters().reduce((n, p) => n + (p.requiresGrad ? p.numel : 0), 0),
    trainable,
    'trainable parameters',
  );
  const c = methodComplexity(model, 256);
  assert.equal(c.parameters, trainable + fixed, 'all parameters');
  // MACs at 256 (baselines-part2.md: 116.05 G, counted with nn.Conv2d/Linear hooks and matmuls); our
  // count also holds the three functional depthwise Gaussians (64 channels, 254², 9 taps each)
  const gaussian = 3 * 64 * 254 * 254 * 9;
  assert.equal(((c.macs - gaussian) / 1e9).toFixed(2), '116.05', 'multiply-adds at 256²');
  model.dispose();
});
