import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { writePth } from '../helpers/pth-write.js';
import { loadPretrained } from '../../src/models/pretrained.js';
import { torch } from '../../src/torch/index.js';
import { AdamW } from '../../src/nn/index.js';
import { buildMethod } from '../../src/models/registry.js';
import { methodComplexity } from '../../src/onnx/complexity.js';
import { amSoftmaxLoss, mapTarget, sladdLosses, SladdConfigSchema, type SladdOutputs } from '../../src/models/sladd/index.js';

const keys = JSON.parse(readFileSync(join(fixtureDir('baseline-parity/sladd'), 'keys.json'), 'utf8')) as {
  entries: { name: string; shape: number[] }[];
};

test('sladd: state-dict names and shapes are the official TransferModel ones, in order (fixture keys.json)', () => {
  const model = buildMethod('sladd');
  assert.deepEqual(
    [...model.stateDict()].map(([k, t]) => `${k} [${t.shape.join(',')}]`),
    keys.entries.map((e) => `${e.name} [${e.shape.join(',')}]`),
  );
  // 20,830,624 trainable parameters (research/baselines-part2.md, counted on the official model)
  assert.equal(model.numParameters(), 20830624);
  // FFdata.py: cv2.resize to 256 with INTER_CUBIC, Normalize(0.5, 0.5)
  assert.deepEqual(model.preprocessing, { channelOrder: 'rgb', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], inputSize: 256, resize: 'cv2-cubic' });
  // 5.95 G multiply-adds at 256² (the same source, conv + linear by forward hooks)
  const { macs } = methodComplexity(model);
  assert.ok(Math.abs(macs - 5.95e9) < 0.005e9, `${macs} MACs`);
  model.dispose();
});

test('AM-softmax by hand: CE(s·(cos − m·onehot)) on the raw scores', () => {
  const cos = torch.tensor([0.2, -0.1, 0.3, 0.7], [2, 2]);
  const got = amSoftmaxLoss(cos, torch.tensor([0, 1], [2], 'int64'), 0.45, 30).item();
  // sample 0: logits 30·(0.2 − 0.45), 30·(−0.1) = −7.5, −3 → log(1 + e^4.5); sample 1: 9, 30·0.25 = 7.5 → log(1 + e^1.5)
  const want = (Math.log1p(Math.exp(4.5)) + Math.log1p(Math.exp(1.5))) / 2;
  assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
});

test('map target: cv2 INTER_CUBIC 256 → 16 of the fake mask (rows/columns not swapped, ignored pixels real)', () => {
  const seg = torch.zeros([1, 256, 256], { dtype: 'int64' });
  torch.noGrad(() => {
    seg.narrow(1, 0, 64).narrow(2, 0, 128).fill_(1); // rows 0–63, columns 0–127
    seg.narrow(1, 200, 56).narrow(2, 120, 16).fill_(1); // rows 200–255, columns 120–135
    seg.narrow(1, 100, 20).fill_(255);
  });
  const t = mapTarget(seg, [16, 16]).reshape([16, 16]).toArray();
  const at = (y: number, x: number) => t[y * 16 + x];
  // cell d reads source rows/columns 16d + 6 … 16d + 9 with weights (−3/32, 19/32, 19/32, −3/32)
  assert.equal(at(0, 0), 1);
  assert.equal(at(3, 7), 1);
  assert.equal(at(4, 0), 0);
  assert.equal(at(0, 8), 0);
  assert.equal(at(6, 3), 0, 'ignored rows count as real');
  // columns 120–135: cell 7 sees 118–121 → 19/32 − 3/32 = 0.5; cell 8 sees 134–137 → 0.5
  assert.ok(Math.abs(at(14, 7) - 0.5) < 1e-6 && Math.abs(at(14, 8) - 0.5) < 1e-6, `${at(14, 7)} ${at(14, 8)}`);
});

test('official loss: the terms by hand, the magnitude MSE with its [B, B] broadcast', () => {
  const config = SladdConfigSchema.parse({});
  const outputs = {
    score: torch.tensor([0.2, -0.1, 0.3, 0.7], [2, 2]),
    type: torch.tensor([0, 0, 0, 0.5, 0, 0, 0, 0, 0, 0], [2, 5]),
    mag: torch.tensor([0.5, 0.2], [2, 1]),
    map: torch.zeros([2, 1, 2, 2]).add(0.25),
  } as unknown as SladdOutputs;
  const losses = sladdLosses(
    outputs,
    {
      label: torch.tensor([0, 1], [2], 'int64'),
      typeLabel: torch.tensor([3, 4], [2], 'int64'),
      mask16: torch.zeros([2, 1, 2, 2]),
      magLabel: torch.tensor([0.3, 0.9], [2]),
      magMask: torch.tensor([1, 0], [2]),
    },
    config,
  );
  const v = Object.fromEntries(Object.entries(losses).map(([k, t]) => [k, t.item()]));
  // mag·mask = [[0.5, 0], [0.2, 0]] against label·mask = [0.3, 0]: (0.2² + 0.1²) / 4
  assert.ok(Math.abs(v.mag - 0.0125) < 1e-7, `mag ${v.mag}`);
  assert.ok(Math.abs(v.map - 0.0625) < 1e-7, `map ${v.map}`);
  // type: sample 0 target 3 (cos 0.5): logits 0, 0, 0, 30·0.05, 0; sample 1 target 4 (cos 0): 0, 0, 0, 0, −13.5
  const type0 = -1.5 + Math.log(4 + Math.exp(1.5));
  const type1 = 13.5 + Math.log(4 + Math.exp(-13.5));
  assert.ok(Math.abs(v.type - (type0 + type1) / 2) < 1e-5, `type ${v.type}`);
  const total = v.cls + 0.1 * v.map + 0.05 * v.type + 0.1 * v.mag;
  assert.ok(Math.abs(v.total - total) < 1e-5, `total ${v.total} vs ${total}`);
});

test('sladd: forward, the official losses, backward and one AdamW step at 128² (batch 2)', () => {
  torch.manualSeed(3);
  const model = buildMethod('sladd', { inputSize: 128 });
  model.train();
  const x = torch.randn([2, 3, 128, 128]);
  const segmentation = torch.zeros([2, 128, 128], { dtype: 'int64' });
  torch.noGrad(() => segmentation.narrow(0, 1, 1).narrow(1, 32, 64).narrow(2, 32, 64).fill_(1));
  const out = model.forward(x) as SladdOutputs;
  assert.deepEqual(
    [out.imgLogits, out.maskLogits, out.map, out.type, out.mag, out.fea].map((t) => t.shape.join()),
    ['2,2', '2,2,128,128', '2,1,8,8', '2,5', '2,1', '2,2048'],
  );
  const losses = model.losses(out, { segmentation, label: torch.tensor([0, 1], [2], 'int64'), image: x });
  assert.deepEqual(Object.keys(losses).sort(), ['cls', 'mag', 'map', 'total', 'type']);
  assert.equal(losses.mag.item(), 0, 'no magnitude supervision on dataset images');
  for (const [k, t] of Object.entries(losses)) assert.ok(Number.isFinite(t.item()), k);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 5e-4 });
  const before = model.stateDict().get('model.map.c.pointwise.weight')!.clone();
  const head = model.stateDict().get('model.last_linear.1.weight')!.clone();
  optimizer.zeroGrad();
  losses.total.backward();
  assert.ok(
    model.parameters().every((p) => p.grad !== null),
    'every parameter is on the loss graph',
  );
  const magGrad = [...model.namedParameters()].find(([k]) => k === 'model.mag_fc.weight')![1].grad!;
  assert.equal(magGrad.abs().sum().item(), 0, 'the masked magnitude term sends no gradient');
  optimizer.step();
  assert.notDeepEqual(model.stateDict().get('model.map.c.pointwise.weight')!.toArray(), before.toArray());
  assert.notDeepEqual(model.stateDict().get('model.last_linear.1.weight')!.toArray(), head.toArray());
  model.dispose();
});

test("Cadene's ImageNet Xception loads through model.pretrained: 2-D pointwise weights unsqueezed, fc left out, the heads kept", async () => {
  // a generated file under the names of xception-b5690688.pth: the trunk without `model.`, pointwise [out, in], fc (1000 classes)
  const model = buildMethod('sladd', { inputSize: 64 });
  const heads = ['model.type_fc.', 'model.mag_fc.', 'model.map.', 'model.last_linear.'];
  const state = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>();
  let value = 0;
  for (const [k, t] of model.stateDict()) {
    if (heads.some((h) => k.startsWith(h))) continue;
    const name = k.slice('model.'.length);
    const shape = name.includes('pointwise') ? t.shape.slice(0, 2) : [...t.shape];
    const n = shape.reduce((a, b) => a * b, 1);
    // each tensor constant and distinct, so a wrong mapping shows
    state.set(name, t.dtype === 'int64' ? { shape, data: new BigInt64Array(n) } : { shape, data: new Float32Array(n).fill((value += 1) / 1000) });
  }
  state.set('fc.weight', { shape: [1000, 2048], data: new Float32Array(2048000) });
  state.set('fc.bias', { shape: [1000], data: new Float32Array(1000) });
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-sladd-'));
  try {
    const file = join(dir, 'xception-b5690688.pth');
    await writeFile(file, writePth(state));
    const mapBefore = model.stateDict().get('model.map.c.pointwise.weight')!.toArray();
    const report = await loadPretrained(model, { file });
    assert.equal(report.converter, 'cadene', 'detected from the keys');
    assert.deepEqual(
      report.skipped.map((s) => s.key),
      ['fc.weight', 'fc.bias'],
    );
    assert.deepEqual(report.shapeMismatched, []);
    assert.deepEqual(report.missing, [], 'the file fills the whole trunk (the heads are not the backbone)');
    assert.equal(report.used.length, model.stateDict().size - 8, 'every trunk entry is used, no head entry');
    const sd = model.stateDict();
    const pw = sd.get('model.block1.rep.0.pointwise.weight')!;
    assert.deepEqual(pw.shape, [128, 64, 1, 1]);
    assert.ok(Math.abs(pw.toArray()[0] - (state.get('block1.rep.0.pointwise.weight')!.data as Float32Array)[0]) < 1e-9);
    assert.ok(Math.abs(sd.get('model.bn4.running_var')!.toArray()[5] - (state.get('bn4.running_var')!.data as Float32Array)[0]) < 1e-9);
    assert.deepEqual(sd.get('model.map.c.pointwise.weight')!.toArray(), mapBefore, 'the map head keeps its initialisation');
    assert.throws(() => SladdConfigSchema.parse({ pretrained: { file, from: 'timm' } }), /from/);
  } finally {
    await rm(dir, { recursive: true, force: true });
    model.dispose();
  }
});
