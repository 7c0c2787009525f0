import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, torch, type Tensor } from '../../src/torch/index.js';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Buffer,
  Conv2d,
  Dropout2d,
  Linear,
  MaxPool2d,
  Module,
  ModuleList,
  Parameter,
  ReLU,
  Sequential,
  StateDictError,
  init,
} from '../../src/nn/index.js';

class Block extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly downsample: Sequential | null;
  constructor(c: number, withDownsample: boolean) {
    super();
    this.conv1 = new Conv2d(c, c, 3, { padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(c);
    this.conv2 = new Conv2d(c, c, 1);
    this.downsample = withDownsample ? new Sequential(new Conv2d(c, c, 1, { bias: false }), new BatchNorm2d(c)) : null;
  }
  forward(x: Tensor): Tensor {
    return this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()).add(this.downsample?.forward(x) ?? x);
  }
}
class Net extends Module {
  readonly layer3: Sequential;
  readonly frequency: Buffer;
  readonly scratch: Buffer;
  readonly fc: Linear;
  constructor() {
    super();
    this.layer3 = new Sequential(new Block(2, true), new Block(2, false), new Dropout2d(0.1), new ReLU(), new MaxPool2d(2), new AdaptiveAvgPool2d(1));
    this.frequency = new Buffer(torch.ones([2, 1, 1]));
    this.scratch = new Buffer(torch.zeros([1]), false);
    this.fc = new Linear(2, 3);
  }
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.layer3.forward(x.mul(this.frequency)).flatten(1));
  }
}

const names = (m: Module) => [...m.stateDict().keys()];

test('state-dict names come from field names in declaration order (PyTorch order: params, buffers, children)', () => {
  const net = new Net();
  const bn = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];
  assert.deepEqual(names(net), [
    'frequency',
    'layer3.0.conv1.weight',
    ...bn.map((k) => `layer3.0.bn1.${k}`),
    'layer3.0.conv2.weight',
    'layer3.0.conv2.bias',
    'layer3.0.downsample.0.weight',
    ...bn.map((k) => `layer3.0.downsample.1.${k}`),
    'layer3.1.conv1.weight',
    ...bn.map((k) => `layer3.1.bn1.${k}`),
    'layer3.1.conv2.weight',
    'layer3.1.conv2.bias',
    'fc.weight',
    'fc.bias',
  ]);
  assert.equal(net.stateDict().get('layer3.0.bn1.num_batches_tracked')?.dtype, 'int64');
  assert.deepEqual(net.stateDict().get('layer3.0.bn1.num_batches_tracked')?.shape, []);
  assert.deepEqual(
    [...net.namedBuffers()].map(([k]) => k).filter((k) => k.startsWith('s')),
    ['scratch'],
    'non-persistent buffers are buffers',
  );
  assert.equal(net.parameters().length, [...net.namedParameters()].length);
  assert.equal(
    net.parameters().every((p) => p.requiresGrad),
    true,
  );
  assert.equal(net.numParameters(), 36 + 4 + 6 + 4 + 4 + (36 + 4 + 6) + (6 + 3)); // block with downsample, block, fc
  assert.deepEqual(
    [...net.namedChildren()].map(([k]) => k),
    ['layer3', 'fc'],
  );
  assert.equal(net.layer3.length, 6);
  assert.ok(net.layer3.at(-1) instanceof AdaptiveAvgPool2d);
  const list = new ModuleList([new Linear(1, 1), new Linear(1, 1)]);
  assert.deepEqual(names(list), ['0.weight', '0.bias', '1.weight', '1.bias']);
  assert.equal([...list].length, 2);
  assert.deepEqual(net.forward(torch.randn([2, 2, 4, 4])).shape, [2, 3]);
});

test('train()/eval() reach every descendant; eval BatchNorm uses running statistics', () => {
  const net = new Net().eval();
  assert.equal(
    [...net.namedModules()].every(([, m]) => !m.training),
    true,
  );
  net.train();
  assert.equal(
    [...net.namedModules()].every(([, m]) => m.training),
    true,
  );
  const bn = new BatchNorm2d(1).eval();
  assert.deepEqual(
    bn
      .forward(torch.tensor([1, 2, 3, 4], [1, 1, 2, 2]))
      .toArray()
      .map((v) => Math.round(v * 1e4) / 1e4),
    [1, 2, 3, 4].map((v) => Math.round((v / Math.sqrt(1 + 1e-5)) * 1e4) / 1e4),
  );
});

test('BatchNorm2d in train mode normalises by batch statistics and updates running stats like PyTorch', () => {
  const bn = new BatchNorm2d(2, { momentum: 0.1 });
  const values = [1, 2, 4, 8, 0, 0, 3, 1, 5, 2, 7, 6, 9, 9, 2, 2]; // [N=2, C=2, 2, 2]
  const x = torch.tensor(values, [2, 2, 2, 2]);
  const y = bn.forward(x).toArray();
  for (const c of [0, 1]) {
    const xs = [0, 1].flatMap((n) => values.slice(n * 8 + c * 4, n * 8 + c * 4 + 4));
    const mean = xs.reduce((a, b) => a + b) / xs.length;
    const biased = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    const unbiased = (biased * xs.length) / (xs.length - 1);
    assert.ok(Math.abs(bn.running_mean!.toArray()[c] - 0.1 * mean) < 1e-6);
    assert.ok(Math.abs(bn.running_var!.toArray()[c] - (0.9 + 0.1 * unbiased)) < 1e-5);
    const ys = [0, 1].flatMap((n) => y.slice(n * 8 + c * 4, n * 8 + c * 4 + 4));
    xs.forEach((v, i) => assert.ok(Math.abs(ys[i] - (v - mean) / Math.sqrt(biased + 1e-5)) < 1e-5));
  }
  assert.equal(bn.num_batches_tracked!.item(), 1);
  bn.forward(x);
  assert.equal(bn.num_batches_tracked!.item(), 2);
});

test("default initialisers equal PyTorch's for the same seed (kaiming_uniform a=√5, bias bound 1/√fan_in)", () => {
  // torch.manual_seed(0); nn.Conv2d(2, 3, 3); nn.Linear(4, 2); then nn.Conv2d(4, 4, 3, groups=2, bias=False) — PyTorch 1.13
  torch.manualSeed(0);
  const conv = new Conv2d(2, 3, 3);
  const lin = new Linear(4, 2);
  const close = (got: number[], want: number[]) => want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-6, `${got[i]} vs ${v}`));
  close(conv.weight.toArray().slice(0, 6), [-0.0017647, 0.126441, -0.1939936, -0.1734625, -0.0907818, 0.0632053]);
  close(conv.bias!.toArray(), [0.1580351, -0.138782, 0.0439217]);
  close(lin.weight.toArray(), [-0.3876528, -0.3465431, -0.2582918, 0.2262365, 0.2010802, -0.2961763, 0.1510535, 0.274486]);
  close(lin.bias!.toArray(), [-0.0631087, 0.0190908]);
  const big = new Conv2d(64, 8, 3);
  const bound = 1 / Math.sqrt(64 * 9);
  const w = big.weight.toArray();
  assert.ok(w.every((v) => Math.abs(v) <= bound) && Math.max(...w) > 0.95 * bound && Math.min(...w) < -0.95 * bound);
  const bn = new BatchNorm2d(3);
  assert.deepEqual(
    [bn.weight!.toArray(), bn.bias!.toArray(), bn.running_mean!.toArray(), bn.running_var!.toArray()],
    [
      [1, 1, 1],
      [0, 0, 0],
      [0, 0, 0],
      [1, 1, 1],
    ],
  );
  assert.deepEqual(init.fanInFanOut(torch.empty([8, 4, 3, 3])), [36, 72]);
  const t = init.kaimingNormal_(torch.empty([4000, 10]), { mode: 'fanOut', nonlinearity: 'relu' });
  const std = Math.sqrt(t.pow(2).mean().item());
  assert.ok(Math.abs(std - Math.SQRT2 / Math.sqrt(4000)) < 0.002);
});

test('loadStateDict copies values; strict mode names missing, unexpected and mis-shaped keys', () => {
  torch.manualSeed(1);
  const a = new Net();
  torch.manualSeed(2);
  const b = new Net();
  b.loadStateDict(a.stateDict());
  for (const [k, t] of a.stateDict()) assert.deepEqual(b.stateDict().get(k)!.toArray(), t.toArray(), k);
  assert.ok(b.fc.weight instanceof Parameter, 'parameters keep their identity');

  const sd = new Map(a.stateDict());
  sd.delete('fc.bias');
  sd.set('fc.extra', torch.ones([1]));
  sd.set('layer3.0.conv2.weight', torch.ones([3, 2, 1, 1]));
  const err = (() => {
    try {
      b.loadStateDict(sd);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof StateDictError);
  assert.deepEqual([err.missing, err.unexpected, err.shapeMismatch.map((m) => m.key)], [['fc.bias'], ['fc.extra'], ['layer3.0.conv2.weight']]);
  assert.match(err.message, /missing keys \(1\): fc\.bias/);
  assert.match(err.message, /unexpected keys \(1\): fc\.extra/);
  assert.match(err.message, /shape mismatch: layer3\.0\.conv2\.weight: module \[2, 2, 1, 1\], state dict \[3, 2, 1, 1\]/);

  sd.set('layer3.0.conv2.weight', a.layer3.at(0).stateDict().get('conv2.weight')!);
  const r = b.loadStateDict(sd, { strict: false });
  assert.deepEqual(r, { missing: ['fc.bias'], unexpected: ['fc.extra'] });

  const fc = new Linear(2, 3);
  const prefixed = new Net();
  const res = prefixed.loadStateDict(fc.stateDict(), { prefix: 'fc.', strict: false });
  assert.equal(res.unexpected.length, 0);
  assert.deepEqual(prefixed.fc.weight.toArray(), fc.weight.toArray());
  assert.throws(() => prefixed.loadStateDict({ 'fc.weight': torch.ones([3, 2]) }), StateDictError);
});

test('module parameters survive tidy scopes; dispose() frees them', () => {
  const before = torch.memory().liveTensors;
  const lin = torch.tidy(() => new Linear(3, 3));
  assert.equal(lin.weight.isDisposed, false);
  assert.equal(torch.memory().liveTensors, before + 2);
  lin.dispose();
  assert.equal(torch.memory().liveTensors, before);
});

// One activation of the chain tests: [1, 8, 64, 64] float32, 128 KiB (a buffer of the caching allocator).
const ACTIVATION_BYTES = 8 * 64 * 64 * 4;
const chainInput = () => torch.randn([1, 8, 64, 64]);

test('a forward pass frees intermediates as they die: a 50-layer chain in eval mode never holds 50 activations', () => {
  torch.manualSeed(0);
  const layers = Array.from({ length: 25 }, () => [new Conv2d(8, 8, 3, { padding: 1 }), new ReLU()]).flat();
  const chain = new Sequential(...layers).eval();
  // the same 50 layers as nested blocks with hand-written forwards (the models' own style)
  class Pair extends Module {
    constructor(
      readonly conv: Conv2d,
      readonly act: ReLU,
    ) {
      super();
    }
    forward(x: Tensor): Tensor {
      return this.act.forward(this.conv.forward(x.mul(1)));
    }
  }
  const nested = new Sequential(...Array.from({ length: 25 }, (_, i) => new Pair(layers[2 * i] as Conv2d, layers[2 * i + 1] as ReLU))).eval();
  /** Output bytes and peak bytes above the input of one eval forward, in activations. */
  const measure = (net: Module & { forward(x: Tensor): Tensor }) =>
    torch.noGrad(() =>
      torch.tidy(() => {
        const x = chainInput();
        torch.resetPeakMemoryStats();
        const before = torch.memory().allocatedBytes;
        const live = torch.memory().liveTensors;
        const y = net.forward(x);
        const { allocatedBytes, peakAllocatedBytes } = torch.memory();
        assert.deepEqual(y.shape, [1, 8, 64, 64]);
        assert.equal(torch.memory().liveTensors, live + 1, 'only the output is alive after the forward');
        return { output: (allocatedBytes - before) / ACTIVATION_BYTES, peak: (peakAllocatedBytes - before) / ACTIVATION_BYTES };
      }),
    );
  // one convolution's own working set: its output and libtorch's scratch buffers
  const oneLayer = measure(new Sequential(layers[0] as Conv2d).eval());
  for (const net of [chain, nested]) {
    const { output, peak } = measure(net);
    assert.equal(output, 1, 'the output is the one new buffer left');
    // one layer's working set, plus the layer's input and a block's own temporary; 50 without freeing
    assert.ok(peak <= oneLayer.peak + 2, `peak ${peak} activations above the input (one layer alone: ${oneLayer.peak})`);
  }
});

test('disposing intermediates keeps what backward needs: gradients equal a flat functional pass bit for bit', () => {
  torch.manualSeed(1);
  class Unit extends Module {
    readonly conv = new Conv2d(8, 8, 3, { padding: 1, bias: false });
    readonly bn = new BatchNorm2d(8);
    forward(x: Tensor): Tensor {
      return this.bn.forward(this.conv.forward(x)).relu().mul(x.sigmoid());
    }
  }
  const net = new Sequential(new Unit(), new Unit(), new Unit(), new Conv2d(8, 2, 1));
  const units = [0, 1, 2].map((i) => net.at(i) as Unit);
  const head = net.at(3) as Conv2d;
  const grads = () => net.parameters().map((p) => p.grad!.toTypedArray());
  const x = torch.keep(chainInput());
  const live = torch.memory().liveTensors;
  const viaModules = torch.tidy(() => {
    const y = net.forward(x);
    assert.equal(torch.memory().liveTensors, live + 1, 'every intermediate handle was disposed before backward');
    y.pow(2).mean().backward();
    return y.toTypedArray();
  });
  const moduleGrads = grads();
  net.zeroGrad();
  // the same computation written with F ops in one scope, every intermediate alive until backward
  const flat = torch.tidy(() => {
    let h = x;
    for (const u of units) {
      const bn = u.bn;
      h = F.batchNorm(F.conv2d(h, u.conv.weight, null, { padding: 1 }), bn.running_mean, bn.running_var, bn.weight, bn.bias, true, bn.momentum, bn.eps)
        .relu()
        .mul(h.sigmoid());
    }
    const y = F.conv2d(h, head.weight, head.bias);
    y.pow(2).mean().backward();
    return y.toTypedArray();
  });
  assert.deepEqual(viaModules, flat);
  const flatGrads = grads();
  moduleGrads.forEach((g, i) => assert.deepEqual(g, flatGrads[i], `gradient ${i}`));
  x.dispose();
});

test('a forward keeps every tensor it returns (in objects and arrays) and never frees its input', () => {
  class TwoHeads extends Module {
    readonly conv = new Conv2d(8, 8, 1);
    forward(x: Tensor): { same: Tensor; both: [Tensor, Tensor]; byName: Map<string, Tensor> } {
      const h = this.conv.forward(x).relu();
      return { same: x, both: [h, h.mul(2)], byName: new Map([['sum', h.add(x)]]) };
    }
  }
  class Identity extends Module {
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  const heads = new TwoHeads();
  torch.tidy(() => {
    const x = chainInput();
    const out = heads.forward(x);
    assert.equal(out.same, x);
    for (const t of [x, ...out.both, out.byName.get('sum')!]) assert.equal(t.isDisposed, false);
    const y = new Sequential(new Identity(), new ReLU(), new Identity()).forward(x);
    assert.equal(x.isDisposed, false);
    assert.equal(y.isDisposed, false);
  });
});
