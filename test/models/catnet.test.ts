import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, type Tensor } from '../../src/torch/index.js';
import { SGD } from '../../src/nn/index.js';
import { buildMethod } from '../../src/models/registry.js';
import { CAT_Net, CatnetInputError, CATNET_DCT_CHANNELS } from '../../src/models/catnet/index.js';
import { exportMethod, exportMethodInt8, readMetadata } from '../../src/onnx/index.js';
import { onnxLogitErrors } from '../helpers/onnx-parity.js';
import { smallCatnet } from '../helpers/catnet-small.js';

const SMALL = smallCatnet(64);

/** A batch on the 8-pixel grid: RGB in [−1, 1], a one-hot DCT volume, two different q-tables. */
function batch(n: number, side: number, seed: number): { rgb: Tensor; aux: { dctVolume: Tensor; qtable: Tensor } } {
  torch.manualSeed(seed);
  const rgb = torch.rand([n, 3, side, side]).mul(2).sub(1);
  const classes = torch.rand([n, 1, side, side]).mul(CATNET_DCT_CHANNELS).long();
  const dctVolume = torch.arange(CATNET_DCT_CHANNELS).reshape(1, CATNET_DCT_CHANNELS, 1, 1).eq(classes).float();
  const qtable = torch.rand([n, 1, 8, 8]).mul(20).add(1).long().float();
  return { rgb, aux: { dctVolume, qtable } };
}

test('catnet: forward, backward and one SGD step at 64² (small widths): a gradient on every parameter, the loss falls', () => {
  const model = new CAT_Net(SMALL).train();
  const { rgb, aux } = batch(2, 64, 1);
  const segmentation = torch.zeros([2, 64, 64], { dtype: 'int64' });
  torch.noGrad(() => segmentation.narrow(1, 16, 32).narrow(2, 8, 24).fill_(1));
  const targets = { segmentation, label: torch.tensor([1, 1], [2], 'int64'), image: rgb };
  const out = model.forward(rgb, aux);
  assert.deepEqual(out.maskLogits.shape, [2, 2, 16, 16], 'two-class logits at stride 4');
  assert.deepEqual(out.imgLogits.shape, [2, 2]);
  const before = model.losses(out, targets);
  assert.deepEqual(Object.keys(before).sort(), ['seg', 'total']);
  model.zeroGrad();
  before.total.backward();
  const missing = [...model.namedParameters()].filter(([, p]) => p.grad === null).map(([k]) => k);
  assert.deepEqual(missing, [], 'every parameter gets a gradient');
  const optimizer = new SGD(model.parameters(), { lr: 0.005, momentum: 0.9, weightDecay: 5e-4 }); // the official recipe
  optimizer.step();
  const after = torch.noGrad(() => model.losses(model.forward(rgb, aux), targets).total.item());
  assert.ok(Number.isFinite(before.total.item()) && after < before.total.item(), `loss ${before.total.item()} → ${after}`);
  model.dispose();
});

test('catnet: the loss is the class-weighted CE [0.5, 2.5] by hand, ignored pixels (255) left out', () => {
  const model = new CAT_Net(SMALL).eval();
  const { rgb, aux } = batch(2, 64, 2);
  const out = torch.noGrad(() => model.forward(rgb, aux));
  const [B, , h, w] = out.maskLogits.shape;
  const labels = Array.from({ length: B * h * w }, (_, i) => [0, 1, 255][(i * 7) % 3]);
  const loss = model.losses(out, { segmentation: torch.tensor(labels, [B, h, w], 'int64'), label: torch.tensor([0, 1], [2], 'int64'), image: rgb }).seg.item();
  const logits = out.maskLogits.toTypedArray() as Float32Array;
  const weight = [0.5, 2.5];
  let num = 0;
  let den = 0;
  labels.forEach((y, i) => {
    if (y === 255) return;
    const [b, p] = [Math.floor(i / (h * w)), i % (h * w)];
    const [l0, l1] = [logits[b * 2 * h * w + p], logits[(b * 2 + 1) * h * w + p]];
    const m = Math.max(l0, l1);
    const lse = m + Math.log(Math.exp(l0 - m) + Math.exp(l1 - m));
    num += weight[y] * (lse - (y === 1 ? l1 : l0));
    den += weight[y];
  });
  assert.ok(Math.abs(loss - num / den) < 1e-5 * Math.max(1, Math.abs(loss)), `${loss} vs ${num / den}`);
  model.dispose();
});

test('catnet: the inputs must be on the 8-pixel grid and carry the DCT volume and q-table', () => {
  const model = new CAT_Net(SMALL).eval();
  const { rgb, aux } = batch(1, 64, 3);
  assert.throws(() => model.forward(rgb), CatnetInputError);
  assert.throws(() => model.forward(rgb, { dctVolume: aux.dctVolume }), /q-?table|quantisation table/);
  assert.throws(() => model.forward(rgb, { ...aux, qtable: aux.qtable.reshape(1, 64) }), /qtable is \[1, 64\]/);
  assert.throws(() => model.forward(rgb.narrow(2, 0, 60), aux), /8-pixel grid/);
  model.dispose();
});

test('catnet: registry builds it; ONNX export has the two auxiliary inputs and equals libtorch (1e-4)', async () => {
  const model = buildMethod('catnet', SMALL).eval();
  assert.ok(model instanceof CAT_Net);
  torch.manualSeed(4);
  torch.noGrad(() => {
    for (const [k, t] of model.stateDict()) if (t.dtype === 'float32') k.endsWith('running_var') ? t.uniform_(0.5, 1.5) : t.uniform_(-0.2, 0.2);
  });
  const { rgb, aux } = batch(3, 64, 5);
  const ref = torch.noGrad(() => model.forward(rgb, aux));
  const { bytes } = exportMethod(model);
  const metadata = readMetadata(bytes);
  assert.equal(metadata.method, 'catnet');
  assert.equal(metadata.auxiliaryInputs, 'dctVolume,qtable');
  assert.equal(JSON.parse(metadata.config).jpegQuality, 100);
  const { errors, inputNames } = await onnxLogitErrors(bytes, { image: rgb, dctVolume: aux.dctVolume, qtable: aux.qtable }, ref);
  assert.deepEqual(inputNames, ['image', 'dctVolume', 'qtable']);
  for (const [name, e] of Object.entries(errors)) assert.ok(e < 1e-4, `${name}: relative error ${e}`);
  await assert.rejects(exportMethodInt8(model, { batches: [], calibrationHash: '' }), /auxiliary inputs/);
  model.dispose();
});
