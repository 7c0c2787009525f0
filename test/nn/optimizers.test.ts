import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/torch/index.js';
import { AdamW, Parameter, SGD } from '../../src/nn/index.js';

/** loss = Σ a·w²/2 + Σ b·w, so grad = a·w + b: a gradient that depends on the current weights. */
const A = [0.5, 2, -1];
const Bv = [0.1, -0.3, 0.2];
function lossBackward(p: Parameter): void {
  torch.tidy(() => {
    const a = torch.tensor(A, [3], 'float64');
    const b = torch.tensor(Bv, [3], 'float64');
    p.mul(p).mul(a).mul(0.5).add(p.mul(b)).sum().backward();
  });
}

/** torch.optim.SGD by hand: g = grad + wd·w; buf = g (first step) else μ·buf + (1 − dampening)·g; w −= lr·(nesterov ? g + μ·buf : buf). */
function byHand(w0: number[], steps: number[], opts: { momentum: number; wd: number; dampening?: number; nesterov?: boolean }): number[] {
  const w = [...w0];
  let buf: number[] | null = null;
  for (const lr of steps) {
    const g = w.map((wi, i) => A[i] * wi + Bv[i] + opts.wd * wi);
    buf = buf === null ? [...g] : buf.map((bi, i) => opts.momentum * bi + (1 - (opts.dampening ?? 0)) * g[i]);
    const d = opts.nesterov ? g.map((gi, i) => gi + opts.momentum * buf![i]) : buf;
    for (let i = 0; i < w.length; i++) w[i] -= lr * d[i];
  }
  return w;
}

const W0 = [1, -2, 0.5];
const close = (got: number[], want: number[]) => want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-12, `w[${i}]: ${got[i]} vs ${v}`));

test('SGD with momentum and weight decay reproduces the hand-computed updates over 3 steps (lr changed per step)', () => {
  const p = new Parameter(torch.tensor(W0, [3], 'float64'));
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  const lrs = [0.1, 0.05, 0.025];
  for (const lr of lrs) {
    opt.lr = lr;
    opt.zeroGrad();
    lossBackward(p);
    opt.step();
  }
  const want = byHand(W0, lrs, { momentum: 0.9, wd: 0.01 });
  close(p.toArray(), want);
  // A plain-gradient-descent result differs, so the test sees the momentum.
  assert.ok(Math.abs(byHand(W0, lrs, { momentum: 0, wd: 0.01 })[1] - want[1]) > 1e-3);
});

test('SGD variants: no momentum, dampening, nesterov, parameter groups, parameters without grad', () => {
  for (const opts of [
    { momentum: 0, wd: 0 },
    { momentum: 0.5, wd: 0.1, dampening: 0.3 },
    { momentum: 0.9, wd: 0.001, nesterov: true },
  ]) {
    const p = new Parameter(torch.tensor(W0, [3], 'float64'));
    const opt = new SGD([p], { lr: 0.2, momentum: opts.momentum, weightDecay: opts.wd, dampening: opts.dampening, nesterov: opts.nesterov });
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      lossBackward(p);
      opt.step();
    }
    close(p.toArray(), byHand(W0, [0.2, 0.2, 0.2], opts));
  }
  const p = new Parameter(torch.tensor(W0, [3], 'float64'));
  const q = new Parameter(torch.tensor(W0, [3], 'float64'));
  const idle = new Parameter(torch.tensor([7], [1], 'float64'));
  const opt = new SGD([{ params: [p] }, { params: [q, idle], lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    lossBackward(p);
    lossBackward(q);
    opt.step();
  }
  close(p.toArray(), byHand(W0, [0.1, 0.1, 0.1], { momentum: 0.9, wd: 0 }));
  close(q.toArray(), byHand(W0, [0.01, 0.01, 0.01], { momentum: 0.9, wd: 0 }));
  assert.deepEqual(idle.toArray(), [7]);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /nesterov/);
  assert.throws(() => new SGD([p], { lr: -1 }), /lr/);
});

test('SGD stateDict/loadStateDict resumes exactly (momentum buffers copied, hyper-parameters restored)', () => {
  const p = new Parameter(torch.tensor(W0, [3], 'float64'));
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  for (let i = 0; i < 2; i++) {
    opt.zeroGrad();
    lossBackward(p);
    opt.step();
  }
  const saved = opt.stateDict();
  assert.deepEqual([...saved.tensors.keys()], ['state.0.momentum_buffer']);
  assert.deepEqual(saved.paramGroups, [{ lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: false }]);
  const snapshot = new Map([...saved.tensors].map(([k, t]) => [k, t.clone()]));

  const resumedP = new Parameter(p.clone());
  const resumed = new SGD([resumedP], { lr: 999, momentum: 0.9, weightDecay: 0.01 });
  resumed.loadStateDict({ tensors: snapshot, paramGroups: saved.paramGroups });
  assert.equal(resumed.lr, 0.1);
  for (const [o, q] of [
    [opt, p],
    [resumed, resumedP],
  ] as const) {
    o.zeroGrad();
    lossBackward(q);
    o.step();
  }
  close(resumedP.toArray(), p.toArray());
  close(p.toArray(), byHand(W0, [0.1, 0.1, 0.1], { momentum: 0.9, wd: 0.01 }));
  assert.throws(() => resumed.loadStateDict({ tensors: new Map([['state.5.momentum_buffer', torch.ones([3])]]), paramGroups: saved.paramGroups }));
});

/**
 * torch.optim.AdamW by hand (its documented algorithm, amsgrad off): w ← w(1 − lr·λ);
 * m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; w ← w − lr·m̂/(√v̂ + ε), m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ).
 */
function adamWByHand(w0: number[], lrs: number[], o: { betas: [number, number]; eps: number; wd: number }): number[] {
  const w = [...w0];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  lrs.forEach((lr, k) => {
    const t = k + 1;
    const g = w.map((wi, i) => A[i] * wi + Bv[i]);
    for (let i = 0; i < w.length; i++) {
      w[i] *= 1 - lr * o.wd;
      m[i] = o.betas[0] * m[i] + (1 - o.betas[0]) * g[i];
      v[i] = o.betas[1] * v[i] + (1 - o.betas[1]) * g[i] * g[i];
      w[i] -= (lr * (m[i] / (1 - o.betas[0] ** t))) / (Math.sqrt(v[i] / (1 - o.betas[1] ** t)) + o.eps);
    }
  });
  return w;
}

test('AdamW reproduces the hand-computed updates over 4 steps (lr changed per step, decoupled weight decay)', () => {
  const o = { betas: [0.8, 0.95] as [number, number], eps: 1e-3, wd: 0.2 };
  const p = new Parameter(torch.tensor(W0, [3], 'float64'));
  const opt = new AdamW([p], { lr: 0.1, betas: o.betas, eps: o.eps, weightDecay: o.wd });
  const lrs = [0.1, 0.07, 0.05, 0.02];
  for (const lr of lrs) {
    opt.lr = lr;
    opt.zeroGrad();
    lossBackward(p);
    opt.step();
  }
  const want = adamWByHand(W0, lrs, o);
  close(p.toArray(), want);
  // L2-coupled decay (Adam) and no bias correction would both land elsewhere.
  assert.ok(Math.abs(adamWByHand(W0, lrs, { ...o, wd: 0 })[0] - want[0]) > 1e-3);
  assert.throws(() => new AdamW([p], { lr: 0.1, betas: [0.9, 1] }), /betas/);
});

test("AdamW stateDict holds PyTorch's names (step, exp_avg, exp_avg_sq) and resumes exactly; SGD state is refused", () => {
  const p = new Parameter(torch.tensor(W0, [3], 'float64'));
  const opt = new AdamW([p], { lr: 0.05 });
  for (let i = 0; i < 2; i++) {
    opt.zeroGrad();
    lossBackward(p);
    opt.step();
  }
  const saved = opt.stateDict();
  assert.deepEqual([...saved.tensors.keys()].sort(), ['state.0.exp_avg', 'state.0.exp_avg_sq', 'state.0.step']);
  assert.equal(saved.tensors.get('state.0.step')!.item(), 2);
  assert.deepEqual(saved.paramGroups, [{ lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }]);
  const snapshot = new Map([...saved.tensors].map(([k, t]) => [k, t.clone()]));

  const resumedP = new Parameter(p.clone());
  const resumed = new AdamW([resumedP], { lr: 999 });
  resumed.loadStateDict({ tensors: snapshot, paramGroups: saved.paramGroups });
  for (const [o, q] of [
    [opt, p],
    [resumed, resumedP],
  ] as const) {
    o.zeroGrad();
    lossBackward(q);
    o.step();
  }
  close(resumedP.toArray(), p.toArray());
  close(p.toArray(), adamWByHand(W0, [0.05, 0.05, 0.05], { betas: [0.9, 0.999], eps: 1e-8, wd: 0.01 }));

  const sgd = new SGD([new Parameter(p.clone())], { lr: 0.1, momentum: 0.9 });
  assert.throws(() => sgd.loadStateDict({ tensors: snapshot, paramGroups: [{ lr: 0.1 }] }), /momentum_buffer/);
});

test('dispose() frees every state tensor now, and a step after it starts the state afresh', () => {
  const p = new Parameter(torch.tensor(W0, [3], 'float64'));
  const opt = new AdamW([p], { lr: 0.05 });
  opt.zeroGrad();
  lossBackward(p);
  opt.step();
  const state = [...opt.stateDict().tensors.values()];
  assert.equal(state.length, 3);
  opt.dispose();
  assert.ok(
    state.every((t) => t.isDisposed),
    'exp_avg, exp_avg_sq and step are freed',
  );
  assert.equal(opt.stateDict().tensors.size, 0);
  opt.step(); // the gradient is still there: a first step again (step 1), as a new AdamW would take
  assert.equal(opt.stateDict().tensors.get('state.0.step')!.item(), 1);
});
