import { test } from 'node:test';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import assert from 'node:assert/strict';
import { F, torch, type Tensor } from '../../src/torch/index.js';
import { BatchNorm2d, Conv2d, Linear, Module, SGD } from '../../src/nn/index.js';

class SmallNet extends Module {
  readonly conv1 = new Conv2d(3, 16, 3, { padding: 1, bias: false });
  readonly bn1 = new BatchNorm2d(16);
  readonly conv2 = new Conv2d(16, 16, 3, { padding: 2, dilation: 2 });
  readonly fc = new Linear(16, 2);
  forward(x: Tensor): { image: Tensor; pixels: Tensor } {
    const f = this.conv2.forward(F.maxPool2d(this.bn1.forward(this.conv1.forward(x)).relu(), { kernelSize: 2 })).relu();
    const pixels = F.interpolate(f.narrow(1, 0, 2), { size: x.shape.slice(2) as [number, number], mode: 'bilinear', alignCorners: false });
    return { image: this.fc.forward(F.adaptiveAvgPool2d(f, 1).flatten(1)), pixels };
  }
}

test('300 training steps of a small conv net: resident memory stops growing and no tensor leaks', (t) => {
  torch.manualSeed(0);
  const net = new SmallNet();
  const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const live0 = torch.memory().liveTensors;
  const rssMiB = () => process.memoryUsage.rss() / 2 ** 20;
  const samples: number[] = [];
  let liveDuringRun = 0;
  for (let step = 1; step <= 300; step++) {
    torch.tidy(() => {
      const x = torch.randn([4, 3, 32, 32]);
      const mask = torch.randint(0, 2, [4, 32, 32]);
      const label = torch.randint(0, 2, [4]);
      const out = net.forward(x);
      const loss = F.crossEntropy(out.image, label).add(F.crossEntropy(out.pixels, mask, { ignoreIndex: 255 }));
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
    if (step === 1) liveDuringRun = torch.memory().liveTensors;
    if (step % 50 === 0) samples.push(rssMiB());
  }
  const [warm, ...rest] = samples;
  const last = rest[rest.length - 1];
  const growth = (last - warm) / warm;
  t.diagnostic(`RSS MiB at steps 50,100,…,300: ${samples.map((s) => s.toFixed(1)).join(', ')}; growth after warm-up ${(growth * 100).toFixed(2)} %`);
  t.diagnostic(`live native tensors: before ${live0}, after step 1 ${liveDuringRun}, after step 300 ${torch.memory().liveTensors}`);
  assert.ok(growth < 0.05, `RSS grew ${(growth * 100).toFixed(1)} % between step 50 and step 300`);
  assert.equal(torch.memory().liveTensors, liveDuringRun, 'the live-tensor count is flat from step 1 on (only momentum buffers were added)');
  assert.equal(liveDuringRun - live0, net.parameters().length, 'step 1 adds one momentum buffer per parameter and nothing else');
});

test('dispose() frees a buffer for reuse at once; emptyCache() returns cached buffers to the OS', () => {
  const MiB = 2 ** 20;
  torch.emptyCache();
  const rss0 = process.memoryUsage.rss();
  for (let i = 0; i < 40; i++) {
    const big = torch.ones([16, 1024, 1024]); // 64 MiB, touched
    big.dispose();
  }
  const rss1 = process.memoryUsage.rss();
  assert.ok(rss1 - rss0 < 200 * MiB, `RSS grew ${((rss1 - rss0) / MiB).toFixed(0)} MiB over 40 × 64 MiB allocations`);
  assert.ok(torch.memory().cachedBytes >= 64 * MiB, 'the freed buffer is cached for reuse');
  assert.ok(torch.emptyCache() >= 64 * MiB);
  assert.equal(torch.memory().cachedBytes, 0);
  const rss2 = process.memoryUsage.rss();
  assert.ok(rss1 - rss2 > 48 * MiB, `emptyCache() returned ${((rss1 - rss2) / MiB).toFixed(0)} MiB to the OS`);
});

/** Full (mark-compact) GCs V8 runs while fn runs, and until the timers after it (a started marking finalizes on a task). */
async function fullGcs(fn: () => void): Promise<number> {
  let n = 0;
  const observer = new PerformanceObserver((list) => {
    n += list.getEntries().filter((e) => (e as unknown as { detail: { kind: number } }).detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR).length;
  });
  observer.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((r) => setTimeout(r, 100));
  observer.disconnect();
  return n;
}

test("V8 hears only of tensors GC frees: a scope's intermediates start no full GC, tensors left to GC do", async () => {
  const count = 40; // 40 × 16 MiB held at once: V8 starts a full GC for every 64 MiB of external growth it hears of
  const big = (): Tensor => torch.zeros([2048, 2048]);
  const inScope = await fullGcs(() => torch.tidy(() => Array.from({ length: count }, () => big().add(1)).length));
  assert.equal(inScope, 0, 'the intermediates of a scope, freed by the scope, made V8 collect');
  const loose = await fullGcs(() => torch.dispose(Array.from({ length: count }, big)));
  assert.ok(loose >= 1, 'tensors outside every scope are not counted as V8 external memory');
  const returned = await fullGcs(() => torch.dispose(torch.tidy(() => Array.from({ length: count }, big))));
  assert.ok(returned >= 1, "a top-level scope's result, left to GC, is not counted");
  const kept = await fullGcs(() => torch.dispose(torch.tidy(() => Array.from({ length: count }, () => torch.keep(big())))));
  assert.ok(kept >= 1, 'a kept tensor is not counted');
});
