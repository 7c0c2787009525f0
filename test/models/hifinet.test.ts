import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, type Tensor } from '../../src/torch/index.js';
import { BatchNorm1d, SGD } from '../../src/nn/index.js';
import { buildMethod, methodDefinition } from '../../src/models/registry.js';
import { HiFiNet, isolatingLoss, type HifinetConfigInput } from '../../src/models/hifinet/index.js';
import { exportMethod, readMetadata } from '../../src/onnx/index.js';
import { onnxLogitErrors } from '../helpers/onnx-parity.js';

// HiFi-Net at a small side (its parity at the official 256 is hifinet-parity.test.ts): SegNet's crop
// follows the input so the 4096² non-local attention shrinks to 64².
const SMALL: HifinetConfigInput = { inputSize: 32, cropSize: 32 };

function targets(x: Tensor): { segmentation: Tensor; label: Tensor; image: Tensor } {
  const segmentation = torch.zeros([2, 32, 32], { dtype: 'int64' });
  torch.noGrad(() => segmentation.narrow(0, 1, 1).narrow(1, 8, 16).narrow(2, 4, 20).fill_(1));
  return { segmentation, label: torch.tensor([0, 1], [2], 'int64'), image: x };
}

test('hifinet: forward, backward and one SGD step at 32²: gradients where the official graph has them, the loss falls', () => {
  torch.manualSeed(1);
  const model = new HiFiNet({ ...SMALL, isolating: { center: 0.5, radius: 0.3 } }).train();
  const x = torch.rand([2, 3, 32, 32]);
  const t = targets(x);
  torch.manualSeed(7); // the same dropout masks before and after the step
  const out = model.forward(x);
  assert.deepEqual(out.maskLogits.shape, [2, 2, 32, 32]);
  assert.deepEqual(out.imgLogits.shape, [2, 2]);
  assert.deepEqual(
    [out.cls_4, out.cls_3, out.cls_2, out.cls_1].map((c) => c.shape),
    [
      [2, 3],
      [2, 5],
      [2, 7],
      [2, 14],
    ],
  );
  const before = model.losses(out, t);
  assert.deepEqual(Object.keys(before).sort(), ['cls', 'isolating', 'mask', 'total']);
  model.zeroGrad();
  before.total.backward();
  const missing = [...model.namedParameters()].filter(([, p]) => p.requiresGrad && p.grad === null).map(([k]) => k);
  // official: NLCDetection detaches the partial convolutions' output (`pconv_feat.clone().detach()`), so they never train
  assert.deepEqual(
    missing,
    [1, 2, 3].flatMap((i) => [`SegNet.getmask.Pconv_${i}.input_conv.weight`, `SegNet.getmask.Pconv_${i}.input_conv.bias`]),
    'every other trainable parameter gets a gradient',
  );
  assert.ok(
    [...model.namedParameters()].filter(([k]) => k.endsWith('mask_conv.weight')).every(([, p]) => !p.requiresGrad && p.grad === null),
    'the partial convolutions’ mask kernels stay fixed',
  );
  const optimizer = new SGD(
    model.parameters().filter((p) => p.requiresGrad),
    { lr: 1e-3 },
  );
  optimizer.step();
  torch.manualSeed(7);
  const after = torch.noGrad(() => model.losses(model.forward(x), t).total.item());
  assert.ok(Number.isFinite(before.total.item()) && after < before.total.item(), `loss ${before.total.item()} → ${after}`);
  model.dispose();
});

test('hifinet: the losses by hand: the four levels’ CE towards fakePath, the mask BCE without ignored pixels, the isolating loss', () => {
  torch.manualSeed(2);
  const model = new HiFiNet(SMALL).eval();
  const x = torch.rand([2, 3, 32, 32]);
  const out = torch.noGrad(() => model.forward(x));
  const labels = Array.from({ length: 2 * 32 * 32 }, (_, i) => [0, 1, 255][(i * 7) % 3]);
  const seg = torch.tensor(labels, [2, 32, 32], 'int64');
  const losses = model.losses(out, { segmentation: seg, label: torch.tensor([0, 1], [2], 'int64'), image: x });
  const path = [2, 3, 5, 9]; // the default fakePath
  let ce = 0;
  [out.cls_4, out.cls_3, out.cls_2, out.cls_1].forEach((cls, k) => {
    const v = cls.toTypedArray() as Float32Array;
    const n = cls.shape[1];
    for (let b = 0; b < 2; b++) {
      const row = Array.from(v.subarray(b * n, (b + 1) * n));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, l) => s + Math.exp(l - m), 0));
      ce += (lse - row[b === 0 ? 0 : path[k]]) / 2;
    }
  });
  assert.ok(Math.abs(losses.cls.item() - ce) < 1e-5 * Math.max(1, ce), `cls ${losses.cls.item()} vs ${ce}`);
  const p = out.mask_binary.toTypedArray() as Float32Array;
  let bce = 0;
  let n = 0;
  labels.forEach((y, i) => {
    if (y === 255) return;
    bce -= y === 1 ? Math.log(p[i]) : Math.log(1 - p[i]);
    n++;
  });
  assert.ok(Math.abs(losses.mask.item() - bce / n) < 1e-5, `mask ${losses.mask.item()} vs ${bce / n}`);
  assert.ok(Math.abs(losses.total.item() - (losses.cls.item() + losses.mask.item())) < 1e-6, 'total with the default weights 1, 1');

  // isolating: features at a known distance from the centre
  const f = torch.zeros([1, 18, 1, 3]);
  torch.noGrad(() => f.narrow(3, 1, 1).fill_(1 / Math.sqrt(18)));
  torch.noGrad(() => f.narrow(3, 2, 1).fill_(3 / Math.sqrt(18)));
  // pixel 0 real at d = ‖1e-6‖·√18, pixel 1 real at d ≈ 1, pixel 2 forged at d ≈ 3 (hinge 2.5·2 − 3 = 2)
  const iso = isolatingLoss(f, torch.tensor([0, 0, 1], [1, 1, 3], 'int64'), 0, 2).item();
  const want = (1e-6 * Math.sqrt(18) + Math.sqrt(18) * (1 / Math.sqrt(18) + 1e-6)) / 2 + (5 - Math.sqrt(18) * (3 / Math.sqrt(18) + 1e-6));
  assert.ok(Math.abs(iso - want) < 1e-5, `isolating ${iso} vs ${want}`);
  model.dispose();
});

test('hifinet: the binary image score is 1 − softmax(cls_1)[real], the mask score σ of the mask logit', () => {
  torch.manualSeed(3);
  const model = new HiFiNet(SMALL).eval();
  const out = torch.noGrad(() => model.forward(torch.rand([2, 3, 32, 32])));
  const cls = out.cls_1.toTypedArray() as Float32Array;
  const score = out.imgLogits.softmax(1).toTypedArray() as Float32Array;
  for (let b = 0; b < 2; b++) {
    const row = Array.from(cls.subarray(b * 14, (b + 1) * 14));
    const m = Math.max(...row);
    const e = row.map((l) => Math.exp(l - m));
    const pReal = e[0] / e.reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(score[2 * b + 1] - (1 - pReal)) < 1e-6, `p_forged of image ${b}`);
  }
  const maskProb = out.maskLogits.softmax(1).narrow(1, 1, 1).squeeze(1).toTypedArray() as Float32Array;
  const binary = out.mask_binary.toTypedArray() as Float32Array;
  assert.ok(
    maskProb.every((v, i) => Math.abs(v - binary[i]) < 1e-6),
    'softmax of the two-class mask logits = mask_binary',
  );
  model.dispose();
});

test('hifinet: BatchNorm1d refuses one value per channel in train mode, as PyTorch does', () => {
  const bn = new BatchNorm1d(18);
  assert.throws(() => bn.forward(torch.zeros([1, 18])), /batch ≥ 2/);
  assert.deepEqual(bn.eval().forward(torch.zeros([1, 18])).shape, [1, 18]);
});

test('hifinet: registry builds it with its losses’ weights; ONNX export equals libtorch (1e-4)', async () => {
  const model = buildMethod('hifinet', SMALL).eval();
  assert.ok(model instanceof HiFiNet);
  assert.deepEqual(methodDefinition('hifinet').lossWeights!(model.config), { cls: 1, mask: 1, isolating: 0 });
  torch.manualSeed(4);
  torch.noGrad(() => {
    for (const [k, t] of model.stateDict()) {
      if (t.dtype !== 'float32' || k.includes('smoothing') || k.endsWith('mask_conv.weight')) continue;
      if (k.endsWith('running_var')) t.uniform_(0.5, 1.5);
      else t.uniform_(-0.2, 0.2);
    }
  });
  const x = torch.rand([2, 3, 32, 32]);
  const ref = torch.noGrad(() => model.forward(x));
  const { bytes } = exportMethod(model);
  const metadata = readMetadata(bytes);
  assert.equal(metadata.method, 'hifinet');
  assert.deepEqual(JSON.parse(metadata.config), model.config);
  const { errors } = await onnxLogitErrors(bytes, { image: x }, ref);
  for (const [name, e] of Object.entries(errors)) assert.ok(e < 1e-4, `${name}: relative error ${e}`);
  model.dispose();
});
