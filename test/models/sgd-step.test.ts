import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { torch } from '../../src/torch/index.js';
import { Parameter, SGD } from '../../src/nn/index.js';

// msccnet-128-train/sgd_poly.json: the official optimizer's arithmetic on one float64 parameter,
// which the train-step parity relies on. The lr of each step is the recorded poly value (the
// schedule itself belongs to train/).
interface Step {
  iteration: number;
  lr: number;
  grad: number[];
  param_after: number[];
  momentum_buffer_after: number[];
}
const sgdPoly: { param_initial: number[]; steps: Step[] } = JSON.parse(readFileSync(join(fixtureDir('msccnet-128-train'), 'sgd_poly.json'), 'utf8'));
const optimizer = JSON.parse(readFileSync(join(fixtureDir('msccnet-128-train'), 'expected_train_step.json'), 'utf8')).float64.optimizer;

test('SGD (momentum 0.9, weight decay 5e-4, one group) matches the official steps in float64', () => {
  const p = new Parameter(torch.tensor(sgdPoly.param_initial, [sgdPoly.param_initial.length], 'float64'));
  const sgd = new SGD([p], {
    lr: optimizer.lr,
    momentum: optimizer.momentum,
    weightDecay: optimizer.weight_decay,
    dampening: optimizer.dampening,
    nesterov: optimizer.nesterov,
  });
  for (const step of sgdPoly.steps) {
    sgd.lr = step.lr;
    p.grad = torch.tensor(step.grad, [step.grad.length], 'float64');
    sgd.step();
    const after = Array.from(p.toTypedArray() as Float64Array);
    const buffer = Array.from(sgd.stateDict().tensors.get('state.0.momentum_buffer')!.toTypedArray() as Float64Array);
    step.param_after.forEach((v, i) =>
      assert.ok(Math.abs(after[i] - v) <= 1e-15 * Math.max(1, Math.abs(v)), `step ${step.iteration} p[${i}]: ${after[i]} vs ${v}`),
    );
    step.momentum_buffer_after.forEach((v, i) => assert.ok(Math.abs(buffer[i] - v) <= 1e-15 * Math.max(1, Math.abs(v)), `step ${step.iteration} buf[${i}]`));
  }
});
