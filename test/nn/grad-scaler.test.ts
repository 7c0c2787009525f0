import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GradScaler, Linear, SGD } from '../../src/nn/index.js';
import { torch } from '../../src/torch/index.js';
import { loadCheckpoint, RNG_SCHEME, saveCheckpoint, type CheckpointState } from '../../src/train/checkpoint.js';

/** A one-layer model whose weight gradient is set by hand. */
function setup(): { layer: Linear; opt: SGD } {
  const layer = new Linear(2, 1, { bias: false });
  torch.noGrad(() => layer.weight.copy_(torch.tensor([1, 2], [1, 2])));
  return { layer, opt: new SGD(layer.parameters(), { lr: 1 }) };
}

test("GradScaler has torch.cuda.amp.GradScaler's defaults and state names", () => {
  assert.deepEqual(new GradScaler().stateDict(), { scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 0 });
});

test('GradScaler skips the step on an inf gradient and halves its scale; unscales and grows after the interval otherwise', () => {
  const { layer, opt } = setup();
  const scaler = new GradScaler({ initScale: 8, growthInterval: 2 });
  assert.equal(scaler.scale(torch.tensor([3], [])).item(), 24);
  layer.weight.grad = torch.tensor([Infinity, 8], [1, 2]);
  assert.equal(scaler.step(opt), false);
  scaler.update();
  assert.deepEqual(layer.weight.toArray(), [1, 2]); // untouched
  assert.deepEqual(scaler.stateDict(), { scale: 4, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2, _growth_tracker: 0 });
  layer.weight.grad = torch.tensor([NaN, 8], [1, 2]);
  assert.equal(scaler.step(opt), false);
  scaler.update();
  assert.equal(scaler.getScale(), 2);
  // scale 2: gradient [2, 4] unscales to [1, 2]; SGD with lr 1 gives [0, 0]
  layer.weight.grad = torch.tensor([2, 4], [1, 2]);
  assert.equal(scaler.step(opt), true);
  scaler.update();
  assert.deepEqual(layer.weight.toArray(), [0, 0]);
  assert.deepEqual([scaler.getScale(), scaler.stateDict()._growth_tracker], [2, 1]);
  layer.weight.grad = torch.tensor([2, 2], [1, 2]);
  scaler.step(opt);
  scaler.update();
  assert.deepEqual(layer.weight.toArray(), [-1, -1]);
  assert.deepEqual([scaler.getScale(), scaler.stateDict()._growth_tracker], [4, 0]); // grown after 2 clean steps
});

test('a disabled GradScaler leaves the loss and the step alone', () => {
  const { layer, opt } = setup();
  const scaler = new GradScaler({ enabled: false });
  assert.equal(scaler.scale(torch.tensor([3], [])).item(), 3);
  layer.weight.grad = torch.tensor([1, 1], [1, 2]);
  assert.equal(scaler.step(opt), true);
  scaler.update();
  assert.deepEqual(layer.weight.toArray(), [0, 1]);
});

test('GradScaler state round-trips through a checkpoint', async () => {
  const { layer, opt } = setup();
  const scaler = new GradScaler({ initScale: 1024, growthInterval: 3 });
  layer.weight.grad = torch.tensor([1, 1], [1, 2]);
  scaler.step(opt);
  scaler.update();
  const state: CheckpointState = {
    step: 1,
    epoch: 0,
    seed: 0,
    rng: RNG_SCHEME,
    mIoU: null,
    bestMIoU: null,
    worldSize: 1,
    savedAt: new Date(0).toISOString(),
    scaler: scaler.stateDict(),
  };
  const path = await saveCheckpoint(await mkdtemp(join(tmpdir(), 'msccnet-scaler-')), 'step-00000001', layer, opt, state);
  const loaded = await loadCheckpoint(path, setup().layer, null);
  const restored = new GradScaler();
  restored.loadStateDict(loaded.scaler!);
  assert.deepEqual(restored.stateDict(), { scale: 1024, growth_factor: 2, backoff_factor: 0.5, growth_interval: 3, _growth_tracker: 1 });
});
