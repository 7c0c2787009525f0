import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, torch } from '../../src/torch/index.js';
import { Parameter } from '../../src/nn/index.js';
import { BayarConv2d } from '../../src/models/mvss/index.js';
import type { Tensor } from '../../src/torch/index.js';

const values = (t: Tensor): number[] => Array.from(t.toTypedArray() as Float32Array);

// The official BayarConv2d.bayarConstraint (dong03/MVSS-Net models/mvssnet.py) divides
// `kernel.data` by its tap sums in place on every forward, then builds the kernel from the taps as
// they are: the stored kernel stays normalised and the gradient reaches the taps without the
// division's Jacobian. Truth here: a plain conv2d over a kernel assembled by hand from the taps.
test('training follows bayarConstraint: the kernel is normalised in place and its gradient is the plain conv gradient of the taps', () => {
  const conv = new BayarConv2d(1, 3, 5, 2);
  const x = torch.tidy(() => torch.rand([2, 1, 9, 9]));
  const taps = values(conv.kernel); // [1, 3, 24], un-normalised (torch.rand)
  const sums = [0, 1, 2].map((o) => taps.slice(o * 24, o * 24 + 24).reduce((a, b) => a + b, 0));
  const normalised = taps.map((v, i) => Math.fround(v / sums[Math.floor(i / 24)]));

  const evalOut = torch.noGrad(() => values(conv.eval().forward(x)));
  assert.deepEqual(values(conv.kernel), taps.map(Math.fround), 'eval leaves the stored kernel as it is');

  conv.train();
  const out = conv.forward(x);
  out.mul(out).sum().backward();
  const stored = values(conv.kernel);
  stored.forEach((v, i) => assert.ok(Math.abs(v - normalised[i]) <= 1e-7, `tap ${i}: ${v} vs ${normalised[i]}`));

  // the hand-built kernel: each filter's 24 taps around a centre −1 (tap 12 of 25)
  const leaf = torch.tidy(() => new Parameter(torch.tensor(stored, [1, 3, 24])));
  const rows: number[] = [];
  for (let o = 0; o < 3; o++) rows.push(...stored.slice(o * 24, o * 24 + 12), -1, ...stored.slice(o * 24 + 12, o * 24 + 24));
  const trainOut = values(out);
  const direct = F.conv2d(x, torch.tensor(rows, [3, 1, 5, 5]), null, { padding: 2 });
  assert.deepEqual(trainOut, values(direct), 'train forward = conv with the normalised taps');
  const kernel = torch.cat([leaf.narrow(2, 0, 12), torch.full([1, 3, 1], -1), leaf.narrow(2, 12, 12)], 2).reshape([3, 1, 5, 5]);
  const y = F.conv2d(x, kernel, null, { padding: 2 });
  y.mul(y).sum().backward();
  const ours = values(conv.kernel.grad!);
  const truth = values(leaf.grad!);
  ours.forEach((g, i) => assert.ok(Math.abs(g - truth[i]) <= 1e-4 * (1 + Math.abs(truth[i])), `grad ${i}: ${g} vs ${truth[i]}`));
  evalOut.forEach((v, i) => assert.ok(Math.abs(v - trainOut[i]) <= 1e-5, `output ${i}: eval ${v}, train ${trainOut[i]}`));
  conv.dispose();
});
