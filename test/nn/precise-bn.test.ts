import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/torch/index.js';
import { BatchNorm2d, Conv2d, Sequential, preciseBatchNorm } from '../../src/nn/index.js';
import { ArgumentError } from '../../src/errors.js';

// Batch i, sample n, channel c, pixel p: a value whose statistics differ per batch and channel.
const [N, C, H, W, BATCHES] = [3, 2, 2, 3, 4];
const value = (i: number, n: number, c: number, p: number) => Math.sin(1.7 * i + 0.9 * n + 2.3 * c + 0.37 * p) * (1 + i) + c * i;
const input = (i: number) => {
  const data = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) data[(n * C + c) * H * W + p] = value(i, n, c, p);
  return torch.fromTypedArray(data, [N, C, H, W]);
};

test('preciseBatchNorm: running mean/var are the average of the batches’ mean and unbiased variance', async () => {
  // a 1×1 identity convolution ahead of the BN: its input is the batch itself, and the weights must not change
  const conv = new Conv2d(C, C, 1, { bias: false });
  torch.noGrad(() => conv.weight.copy_(torch.tensor([1, 0, 0, 1], [C, C, 1, 1])));
  const bn = new BatchNorm2d(C, { momentum: 0.01 });
  const model = new Sequential(conv, bn);
  torch.noGrad(() => model.forward(input(9))); // some history in the running statistics and num_batches_tracked
  const tracked = bn.num_batches_tracked!.item();
  const weights = [bn.weight!.toArray(), bn.bias!.toArray(), conv.weight.toArray()];
  model.eval();
  await preciseBatchNorm(model, BATCHES, async (i) => {
    torch.noGrad(() => model.forward(input(i)));
  });
  // by hand, in doubles
  const m = H * W * N;
  for (let c = 0; c < C; c++) {
    let [meanSum, varSum] = [0, 0];
    for (let i = 0; i < BATCHES; i++) {
      const xs: number[] = [];
      for (let n = 0; n < N; n++) for (let p = 0; p < H * W; p++) xs.push(value(i, n, c, p));
      const mean = xs.reduce((a, b) => a + b, 0) / m;
      meanSum += mean;
      varSum += xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1);
    }
    assert.ok(Math.abs(bn.running_mean!.toArray()[c] - meanSum / BATCHES) < 1e-5, `mean ${c}`);
    assert.ok(Math.abs(bn.running_var!.toArray()[c] - varSum / BATCHES) < 1e-4, `var ${c}`);
  }
  assert.equal(bn.momentum, 0.01);
  assert.equal(bn.num_batches_tracked!.item(), tracked);
  assert.deepEqual([bn.weight!.toArray(), bn.bias!.toArray(), conv.weight.toArray()], weights);
  assert.equal(bn.training, true);
});

test('preciseBatchNorm refuses a batch count that is not a positive integer', async () => {
  await assert.rejects(() => preciseBatchNorm(new BatchNorm2d(2), 0, async () => {}), ArgumentError);
});
