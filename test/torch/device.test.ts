import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv2d, deviceOf, SGD } from '../../src/nn/index.js';
import { backend, resolveDevice, torch, useBackend } from '../../src/torch/index.js';
import { deviceCheckingBackend } from '../../src/torch/testing.js';

test('on the CPU build: no CUDA, pinMemory is a no-op, auto resolves to cpu, cuda is a DeviceError', () => {
  assert.equal(torch.cuda.isAvailable(), false);
  assert.equal(torch.cuda.deviceCount(), 0);
  torch.cuda.synchronize(); // nothing to wait for
  const t = torch.tensor([1, 2, 3], [3]);
  assert.equal(t.pinMemory(), t);
  assert.equal(t.isPinned, false);
  assert.equal(resolveDevice('auto'), 'cpu');
  assert.equal(resolveDevice('cpu'), 'cpu');
  assert.throws(() => resolveDevice('cuda'), { name: 'DeviceError', message: /LIBTORCH=python/ });
  assert.throws(() => resolveDevice('gpu'), { name: 'DeviceError' });
});

test('to(device, { dtype, copy }) converts in one call; copy: true gives new storage', () => {
  const t = torch.tensor([1.5, 2.5], [2]);
  const d = t.to('cpu', { dtype: 'float64' });
  assert.equal(d.dtype, 'float64');
  assert.deepEqual(d.toArray(), [1.5, 2.5]);
  const same = t.to('cpu', { nonBlocking: true });
  const copied = t.to('cpu', { copy: true });
  t.add_(1);
  assert.deepEqual(same.toArray(), [2.5, 3.5]); // nothing to do: the same data, as PyTorch
  assert.deepEqual(copied.toArray(), [1.5, 2.5]);
  assert.equal(t.to('int64', { copy: true }).dtype, 'int64');
});

test('channelsLast: same values, NHWC strides; cudnn.benchmark is a settable flag', () => {
  const x = torch.randn([2, 3, 4, 5]);
  const y = x.contiguous('channelsLast');
  assert.ok(y.isContiguousIn('channelsLast') && !y.isContiguous);
  assert.deepEqual(y.toArray(), x.toArray());
  const previous = torch.backends.cudnn.benchmark;
  torch.backends.cudnn.benchmark = !previous;
  assert.equal(torch.backends.cudnn.benchmark, !previous);
  torch.backends.cudnn.benchmark = previous;
});

test('Module.to moves parameters in place: same objects, requiresGrad kept, the optimizer still steps them', () => {
  const previous = useBackend(deviceCheckingBackend(backend()).backend);
  try {
    const conv = new Conv2d(2, 3, 3);
    const weight = conv.weight;
    const values = weight.to('cpu').toArray();
    const opt = new SGD(conv.parameters(), { lr: 0.1 });
    conv.to('cuda:0', { memoryFormat: 'channelsLast' });
    assert.equal(conv.weight, weight);
    assert.equal(deviceOf(conv), 'cuda:0');
    assert.ok(weight.requiresGrad && weight.isContiguousIn('channelsLast'));
    assert.deepEqual(weight.to('cpu').toArray(), values);
    conv
      .forward(torch.ones([1, 2, 5, 5], { device: 'cuda:0' }))
      .sum()
      .backward();
    opt.step(); // grads and update on cuda:0: no mixing
    assert.notDeepEqual(weight.to('cpu').toArray(), values);
    assert.throws(() => conv.forward(torch.ones([1, 2, 5, 5])), { name: 'DeviceDisciplineError' });
  } finally {
    useBackend(previous);
  }
});
