import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/torch/index.js';
import { AdamW } from '../../src/nn/index.js';
import { buildMethod } from '../../src/models/registry.js';
import { reinforceLoss, sampleActions, SladdPolicy, sladdSynthesizerStep, type SLADD } from '../../src/models/sladd/index.js';
import { seededRandom, type Point } from '../../src/data/synthetic/index.js';

test('synthesizer policy: the official netG state dict (280 entries under model., iniconv on 6 channels, 20,838,551 parameters)', () => {
  const policy = new SladdPolicy();
  const sd = policy.stateDict();
  assert.equal(sd.size, 280);
  assert.deepEqual([...sd.keys()].slice(0, 2), ['model.iniconv.weight', 'model.bn1.weight']);
  assert.deepEqual(sd.get('model.iniconv.weight')!.shape, [32, 6, 3, 3]);
  assert.deepEqual([...sd.keys()].slice(-6), [
    'model.fc_region.1.weight',
    'model.fc_region.1.bias',
    'model.fc_type.1.weight',
    'model.fc_type.1.bias',
    'model.fc_mag.1.weight',
    'model.fc_mag.1.bias',
  ]);
  assert.equal(policy.numParameters(), 20838551); // research/baselines-part2.md, counted on the official synthesizer
  // xavier_normal gain 0.02: std 0.02·√(2 / (54 + 288)) ≈ 0.00153
  const w = sd.get('model.iniconv.weight')!.toArray();
  const std = Math.sqrt(w.reduce((a, b) => a + b * b, 0) / w.length);
  assert.ok(Math.abs(std - 0.02 * Math.sqrt(2 / 342)) < 0.0002, `iniconv std ${std}`);
  policy.dispose();
});

test("synthesizer policy: sampled actions' log-probabilities are the heads' log-softmax / log σ, and REINFORCE sends them gradient", () => {
  torch.manualSeed(2);
  const policy = new SladdPolicy();
  policy.train();
  const real = torch.randn([2, 3, 64, 64]);
  const fake = torch.randn([2, 3, 64, 64]);
  const logits = policy.forward(real, fake);
  assert.deepEqual(
    [logits.region.shape, logits.type.shape, logits.mag.shape],
    [
      [2, 10],
      [2, 4],
      [2, 1],
    ],
  );
  const actions = sampleActions(logits, seededRandom(4));
  const lr = logits.region.logSoftmax(1).toArray();
  const lt = logits.type.logSoftmax(1).toArray();
  const mz = logits.mag.toArray();
  actions.region.forEach((r, i) => {
    const t = actions.type[i];
    const sigma = 1 / (1 + Math.exp(-mz[i]));
    assert.ok(Math.abs(actions.mag[i] - sigma) < 1e-6);
    const want = lr[i * 10 + r] + lt[i * 4 + t] + Math.log(sigma);
    assert.ok(Math.abs(actions.logProb.toArray()[i] - want) < 1e-5, `log-prob of sample ${i}`);
  });
  // a detector loss as reward: L = 2 → ∂(mean(−log p · L))/∂ log p_i = −L / B
  const loss = reinforceLoss(actions, torch.tensor([2], [1]).reshape([]));
  policy.zeroGrad();
  loss.backward();
  for (const key of [
    'model.fc_region.1.weight',
    'model.fc_type.1.weight',
    'model.fc_mag.1.weight',
    'model.block7.rep.1.pointwise.weight',
    'model.iniconv.weight',
  ]) {
    const p = [...policy.namedParameters()].find(([k]) => k === key)![1];
    assert.ok(p.grad !== null && p.grad.abs().sum().item() > 0, `${key} receives gradient`);
  }
  policy.dispose();
});

test('sampling follows the probabilities: 2000 draws of a fixed 4-way distribution', () => {
  const n = 2000;
  const type = torch.tensor([Math.log(0.1), Math.log(0.2), Math.log(0.3), Math.log(0.4)], [1, 4]).expand([n, 4]);
  const actions = sampleActions({ region: torch.zeros([n, 10]), type, mag: torch.zeros([n, 1]) }, seededRandom(9));
  const counts = [0, 0, 0, 0];
  for (const t of actions.type) counts[t]++;
  [0.1, 0.2, 0.3, 0.4].forEach((p, k) => assert.ok(Math.abs(counts[k] / 2000 - p) < 0.035, `type ${k}: ${counts[k]}`));
});

test('a synthesizer training step (Model.optimize): forged reals become fakes of the chosen type, the detector and the policy both take a step', async () => {
  torch.manualSeed(6);
  const S = 128;
  const landmarks = (dx: number): Point[] => {
    const l: Point[] = Array.from({ length: 68 }, (): Point => [64 + dx, 70]);
    for (const [i, x, y] of [
      [36, 35, 50],
      [39, 55, 50],
      [42, 73, 50],
      [45, 93, 50],
      [30, 64, 70],
      [33, 64, 75],
      [48, 44, 95],
      [54, 84, 95],
    ] as const)
      l[i] = [x + dx, y];
    return l;
  };
  const image = (f: (x: number, y: number, c: number) => number) =>
    Uint8Array.from({ length: S * S * 3 }, (_, k) => f(Math.floor(k / 3) % S, Math.floor(k / 3 / S), k % 3));
  const real = { image: { width: S, height: S, data: image((x, y, c) => 60 + ((x + 2 * y + 40 * c) % 80)) }, landmarks: landmarks(0) };
  const fake = {
    image: { width: S, height: S, data: image((x, y, c) => 150 + Math.round(60 * Math.sin(x / 7 + c) * Math.cos(y / 5))) },
    landmarks: landmarks(3),
  };
  const detector = buildMethod('sladd', { inputSize: S }) as SLADD;
  const policy = new SladdPolicy();
  const optimizers = { detector: new AdamW(detector.parameters(), { lr: 1e-4 }), policy: new AdamW(policy.parameters(), { lr: 2.5e-5 }) };
  const headBefore = detector.stateDict().get('model.last_linear.1.weight')!.toArray();
  const regionBefore = policy.stateDict().get('model.fc_region.1.weight')!.toArray();
  const pairs = [
    { real, fake, label: 0, mask: new Uint8Array(S * S) },
    { real, fake, label: 0, mask: new Uint8Array(S * S) },
  ] as const;
  const result = await sladdSynthesizerStep(detector, policy, pairs, optimizers, seededRandom(12));
  for (const [k, v] of Object.entries(result.losses)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
  assert.ok(Number.isFinite(result.synthesizerLoss));
  result.type.forEach((t, i) => {
    assert.equal(result.labels[i], t === 3 ? 0 : 1, `pair ${i} (type ${t}): label`);
    assert.equal(result.typeLabels[i], t, `pair ${i}: type label = the blend, 3 when kept real`);
  });
  assert.notDeepEqual(detector.stateDict().get('model.last_linear.1.weight')!.toArray(), headBefore, 'the detector stepped');
  assert.notDeepEqual(policy.stateDict().get('model.fc_region.1.weight')!.toArray(), regionBefore, 'the policy stepped (REINFORCE)');
  detector.dispose();
  policy.dispose();
});
