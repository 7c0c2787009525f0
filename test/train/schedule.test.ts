import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { torch } from '../../src/torch/index.js';
import { Parameter, SGD } from '../../src/nn/index.js';
import { polyLr, type PolySchedule } from '../../src/train/schedule.js';
import { parseTrainConfig } from '../../src/train/config.js';

// Fixture msccnet-128-train/sgd_poly.json: the official BuildOptimizer + PolyScheduler in float64 (README §7).
interface Step {
  iteration: number;
  lr: number;
  grad: number[];
  param_after: number[];
  momentum_buffer_after: number[];
}
const fx: { param_initial: number[]; steps: Step[]; max_iters: number; min_lr: number; poly_lr_at_iteration: Record<string, number> } = JSON.parse(
  readFileSync(join(fixtureDir('msccnet-128-train'), 'sgd_poly.json'), 'utf8'),
);

const rel = (a: number, b: number): number => (b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b));
const defaults = parseTrainConfig({ data: { manifest: 'm.jsonl' } });
// the config's defaults are the fixture's settings: 30 epochs of 2,245 iterations
const schedule: PolySchedule = { lr: defaults.optim.lr, power: defaults.optim.power, minLrRatio: defaults.optim.minLrRatio, maxIters: 30 * 2245 };

test('poly lr with the floor equals the official scheduler at every recorded iteration', () => {
  assert.equal(schedule.maxIters, fx.max_iters);
  for (const [it, lr] of Object.entries(fx.poly_lr_at_iteration)) {
    assert.ok(rel(polyLr(Number(it), schedule), lr) <= 1e-15, `iteration ${it}: ${polyLr(Number(it), schedule)} vs ${lr}`);
  }
  assert.equal(polyLr(fx.max_iters, schedule), fx.min_lr);
});

test('SGD (momentum 0.9, wd 5e-4) driven by the poly lr reproduces the official three float64 steps', () => {
  const p = new Parameter(torch.tensor(Float64Array.from(fx.param_initial), [5]));
  const opt = new SGD([p], { lr: defaults.optim.lr, momentum: defaults.optim.momentum, weightDecay: defaults.optim.weightDecay });
  for (const s of fx.steps) {
    const lr = polyLr(s.iteration, schedule);
    assert.ok(rel(lr, s.lr) <= 1e-15, `lr at ${s.iteration}`);
    opt.lr = lr;
    p.grad = torch.tensor(Float64Array.from(s.grad), [5]);
    opt.step();
    const after = Array.from(p.toTypedArray() as Float64Array);
    after.forEach((v, i) => assert.ok(rel(v, s.param_after[i]) <= 1e-15, `step ${s.iteration} param[${i}]: ${v} vs ${s.param_after[i]}`));
    const buf = opt.stateDict().tensors.get('state.0.momentum_buffer')!.toTypedArray() as Float64Array;
    Array.from(buf).forEach((v, i) => assert.ok(rel(v, s.momentum_buffer_after[i]) <= 1e-15, `step ${s.iteration} buf[${i}]`));
  }
});
