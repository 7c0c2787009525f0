import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { torch, type Tensor } from '../../src/torch/index.js';
import type { Module } from '../../src/nn/index.js';
import { buildMethod, loadMethodStateDict, methodDefinition, methodNames } from '../../src/models/registry.js';
import { WeightsError } from '../../src/models/errors.js';
import type { MethodModel } from '../../src/models/method.js';
import { attentionMapTarget } from '../../src/models/ffd/index.js';
import { BayarConv2d, edgeTarget } from '../../src/models/mvss/index.js';
import { bilinearUpsampleWeights } from '../../src/models/hpfcn/index.js';
import { exportMethod, exportModule, readMetadata } from '../../src/onnx/index.js';
import { methodComplexity } from '../../src/onnx/complexity.js';
import { ConfigError } from '../../src/errors.js';
import { onnxLogitErrors, relativeError } from '../helpers/onnx-parity.js';

interface OfficialKeys {
  provenance: { repo: string; commit: string; file: string };
  keys?: { key: string; shape: number[] }[];
  variables?: { key: string; shape: number[] }[];
}
const official = (name: string): OfficialKeys => JSON.parse(readFileSync(new URL(`official-keys/${name}.json`, import.meta.url), 'utf8')) as OfficialKeys;

/** Our state dict as `key [shape]` lines, without the keys the §5.1.3 adaptation adds. */
function ownKeys(model: MethodModel, drop: (key: string) => boolean = () => false): string[] {
  const adapted = methodDefinition(model.methodName).adaptationKeys;
  return [...model.stateDict()].filter(([k]) => !adapted.some((p) => k.startsWith(p)) && !drop(k)).map(([k, t]) => `${k} [${t.shape.join(',')}]`);
}

/** Every parameter and buffer to small random values (BN variances positive), so no path is trivially zero. */
function randomize(model: Module, seed: number): void {
  torch.manualSeed(seed);
  torch.noGrad(() => {
    for (const [k, t] of model.stateDict()) {
      if (t.dtype !== 'float32') continue;
      if (k.endsWith('running_var')) t.uniform_(0.5, 1.5);
      else t.uniform_(-0.2, 0.2);
    }
  });
}

async function onnxError(model: MethodModel, x: Tensor): Promise<Record<'image_logits' | 'mask_logits', number>> {
  model.eval();
  const ref = torch.noGrad(() => model.forward(x));
  const bytes = exportMethod(model).bytes;
  const metadata = readMetadata(bytes);
  assert.equal(metadata.method, model.methodName);
  assert.equal(metadata.channelOrder, model.preprocessing.channelOrder);
  assert.deepEqual(JSON.parse(metadata.config), model.config);
  return (await onnxLogitErrors(bytes, { image: x }, ref)).errors;
}

/** One training step's forward + backward at 128², batch 2: finite losses, a gradient on every trainable parameter used. */
function forwardBackward(model: MethodModel): Record<string, number> {
  torch.manualSeed(3);
  model.train();
  const x = torch.randn([2, 3, 128, 128]);
  const segmentation = torch.zeros([2, 128, 128], { dtype: 'int64' });
  torch.noGrad(() => segmentation.narrow(0, 1, 1).narrow(1, 32, 64).narrow(2, 32, 64).fill_(1));
  const out = model.forward(x);
  assert.equal(out.imgLogits.shape.join(), '2,2');
  assert.equal(out.maskLogits.shape.length, 4);
  assert.equal(out.maskLogits.shape[1], 2, 'two-class mask logits');
  const losses = model.losses(out, { segmentation, label: torch.tensor([0, 1], [2], 'int64'), image: x });
  model.zeroGrad();
  losses.total.backward();
  const values = Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.item()]));
  for (const [k, v] of Object.entries(values)) assert.ok(Number.isFinite(v), `loss ${k} = ${v}`);
  return values;
}

test('registry: the methods by name; unknown names and bad config fields are refused', () => {
  assert.deepEqual(methodNames(), ['msccnet', 'hpfcn', 'multitask', 'ffd', 'mvss', 'm2tr', 'sladd', 'catnet', 'hifinet']);
  assert.throws(() => buildMethod('mantra'), /unknown model variant 'mantra'.*/s);
  assert.throws(() => buildMethod('ffd', { inputsize: 299 }), ConfigError);
  const m = buildMethod('msccnet', { inputSize: 64, backboneDepth: 18, featsChannels: 64, dct: 'paper' });
  assert.equal(m.methodName, 'msccnet');
  assert.equal(m.preprocessing.inputSize, 64);
  assert.ok(m.stateDict().has('classifer.fc.weight'), 'MSCCNet keeps its official keys through the registry');
  m.dispose();
  // official input handling (see each method's source): side, channel order, mean of channel 0
  const expected = {
    hpfcn: [256, 'rgb', 0],
    multitask: [256, 'rgb', 123.675],
    ffd: [299, 'rgb', 127.5],
    mvss: [512, 'bgr', 123.675],
    m2tr: [320, 'rgb', 123.675],
    sladd: [256, 'rgb', 127.5],
    hifinet: [256, 'rgb', 0],
  } as const;
  for (const [name, [side, order, mean0]] of Object.entries(expected)) {
    const built = buildMethod(name, name === 'mvss' ? { constrain: false } : {});
    const p = built.preprocessing;
    built.dispose();
    assert.deepEqual([p.inputSize, p.channelOrder, p.mean[0]], [side, order, mean0], name);
  }
});

test('derived supervision: FFD map target is the fake fraction per cell; MVSS edge target is the mask boundary band', () => {
  const seg = torch.zeros([1, 8, 8], { dtype: 'int64' });
  torch.noGrad(() => seg.narrow(1, 0, 4).narrow(2, 0, 2).fill_(1)); // fake rows 0–3, cols 0–1
  torch.noGrad(() => seg.narrow(1, 6, 1).narrow(2, 6, 2).fill_(255)); // ignored pixels count as real
  assert.deepEqual(attentionMapTarget(seg, [2, 2]).toArray(), [0.5, 0, 0, 0]);
  const edges = edgeTarget(seg, [8, 8], 1).reshape([8, 8]).toArray();
  const expected = Array.from({ length: 64 }, (_, i) => {
    const [r, c] = [Math.floor(i / 8), i % 8];
    const inside = (rr: number, cc: number) => rr >= 0 && rr < 4 && cc >= 0 && cc < 2;
    let any = false;
    let all = true;
    for (let dr = -1; dr <= 1; dr++)
      for (let dc = -1; dc <= 1; dc++) {
        const rr = r + dr;
        const cc = c + dc;
        if (rr < 0 || rr > 7 || cc < 0 || cc > 7) continue; // max-pool padding never wins
        any ||= inside(rr, cc);
        all &&= inside(rr, cc);
      }
    return (any ? 1 : 0) - (all ? 1 : 0);
  });
  assert.deepEqual(edges, expected);
  // by hand: dilation covers rows 0–4 × cols 0–2 (15), erosion keeps rows 0–2 × col 0 (the image border does not erode): 12
  assert.equal(expected.filter((v) => v === 1).length, 12);
});

test('HP-FCN bilinear kernel equals the official bilinear_upsample_weights (factor 2: [.25 .75 .75 .25]²)', () => {
  const w = bilinearUpsampleWeights(2, 1, 1);
  const k = [0.25, 0.75, 0.75, 0.25];
  assert.deepEqual(
    Array.from(w),
    k.flatMap((a) => k.map((b) => a * b)),
  );
  assert.equal(bilinearUpsampleWeights(4, 4, 64).length, 64 * 4 * 8 * 8);
});

for (const name of ['multitask', 'ffd', 'mvss'] as const) {
  test(`${name}: state-dict keys and shapes equal the official PyTorch model's, in order`, () => {
    const list = official(name);
    const model = buildMethod(name);
    assert.deepEqual(
      ownKeys(model),
      list.keys!.map((k) => `${k.key} [${k.shape.join(',')}]`),
      `${list.provenance.repo} ${list.provenance.file}`,
    );
    model.dispose();
  });
}

test('hpfcn: every official TF variable has its key and (PyTorch-layout) shape, nothing else but BN step counters', () => {
  const list = official('hpfcn');
  const model = buildMethod('hpfcn');
  assert.deepEqual(ownKeys(model, (k) => k.endsWith('num_batches_tracked')).sort(), list.variables!.map((v) => `${v.key} [${v.shape.join(',')}]`).sort());
  model.dispose();
});

for (const name of ['hpfcn', 'multitask', 'ffd', 'mvss', 'm2tr', 'sladd'] as const) {
  test(`${name}: forward + backward at 128² on the CPU, ONNX export equal to libtorch (1e-4)`, async (t) => {
    // MVSS-Net's noise branch (a second ResNet-50, 4096-channel head) is exported on its own below, to keep CI small.
    const model = buildMethod(name, name === 'mvss' ? { inputSize: 128, constrain: false } : { inputSize: 128 });
    const losses = forwardBackward(model);
    t.diagnostic(`losses ${JSON.stringify(losses)}`);
    const trainable = [...model.namedParameters()].filter(([, p]) => p.requiresGrad);
    const withGrad = trainable.filter(([, p]) => p.grad !== null).length;
    assert.ok(withGrad > 0.5 * trainable.length, `${withGrad}/${trainable.length} parameters got a gradient`);
    randomize(model, 11);
    torch.manualSeed(5);
    const errors = await onnxError(model, torch.randn([3, 3, 128, 128]));
    t.diagnostic(`relative errors ${JSON.stringify(errors)}`);
    for (const [k, e] of Object.entries(errors)) assert.ok(e < 1e-4, `${k}: relative error ${e}`);
    model.dispose();
  });
}

test('mvss: the constrained (Bayar) convolution exports equal to libtorch, centre tap −1 and the others summing to 1', async () => {
  const bayar = new BayarConv2d(1, 3, 5, 2).eval();
  const k = bayar.realKernel().reshape([3, 25]).toArray();
  for (let f = 0; f < 3; f++) {
    const row = k.slice(f * 25, f * 25 + 25);
    assert.equal(row[12], -1);
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 0) < 1e-5, 'taps sum to 1 − 1 = 0');
  }
  torch.manualSeed(2);
  const x = torch.randn([2, 1, 16, 16]);
  const ref = torch.noGrad(() => bayar.forward(x));
  const { bytes } = exportModule(bayar, { input: { name: 'gray', shape: [1, 16, 16] }, forward: (g) => ({ noise: bayar.forward(g) }) });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ gray: new ort.Tensor('float32', x.toTypedArray() as Float32Array, [2, 1, 16, 16]) });
  await session.release();
  assert.ok(relativeError(out.noise.data as Float32Array, ref.toTypedArray() as Float32Array) < 1e-5);
});

test('multiply-adds: the traced count of Multi-task at 64² equals the sum over its convolutions by hand', () => {
  const side = 64;
  let macs = 0;
  let s = side;
  for (const [cin, cout, stride] of [
    [3, 8, 1],
    [8, 8, 2],
    [8, 16, 1],
    [16, 16, 2],
    [16, 32, 1],
    [32, 32, 2],
    [32, 64, 1],
    [64, 64, 2],
    [64, 128, 1],
  ]) {
    s /= stride;
    macs += s * s * cout * cin * 9; // conv: output pixels × Cout × Cin × 3²
  }
  const deconv = (units: number[][]) => {
    // transposed conv: input pixels × Cin × Cout × 3²
    for (const [cin, cout, stride] of units) {
      macs += s * s * cin * cout * 9;
      s *= stride;
    }
  };
  deconv([
    [128, 64, 1],
    [64, 64, 2],
    [64, 32, 1],
    [32, 32, 2],
  ]);
  const trunk = s;
  for (const out of [2, 3]) {
    s = trunk;
    deconv([
      [32, 16, 1],
      [16, 16, 2],
      [16, 8, 1],
      [8, 8, 2],
      [8, out, 1],
    ]);
  }
  const model = buildMethod('multitask', { inputSize: side });
  const c = methodComplexity(model);
  assert.equal(c.macs, macs);
  assert.equal(c.parameters, 304949);
  model.dispose();
});

test('an official-layout state dict loads without the adaptation keys, which keep their values; anything else missing is refused', () => {
  const source = buildMethod('hpfcn', { inputSize: 64 });
  randomize(source, 9);
  const official = new Map([...source.stateDict()].filter(([k]) => !k.startsWith('image_head.')));
  const target = buildMethod('hpfcn', { inputSize: 64 });
  const headBefore = target.stateDict().get('image_head.fc.weight')!.toArray();
  assert.deepEqual(loadMethodStateDict(target, official, 'hp_fcn.ckpt'), ['image_head.fc.weight', 'image_head.fc.bias']);
  assert.deepEqual(target.stateDict().get('logits.weight')!.toArray(), source.stateDict().get('logits.weight')!.toArray());
  assert.deepEqual(target.stateDict().get('image_head.fc.weight')!.toArray(), headBefore);
  official.delete('post_norm.running_var');
  assert.throws(
    () => loadMethodStateDict(target, official, 'hp_fcn.ckpt'),
    (e: unknown) => e instanceof WeightsError && /missing: post_norm\.running_var/.test(e.message),
  );
});

test("a state dict of another layout is refused with a hint that names the method's first official key", () => {
  const model = buildMethod('multitask', { inputSize: 64 });
  const first = official('multitask').keys![0].key;
  const renamed = new Map([...model.stateDict()].map(([k, t]) => [`module.${k}`, t]));
  assert.throws(
    () => loadMethodStateDict(model, renamed, 'other.pth'),
    // the hint points to something a user has (the authors' key names), not a file of the test suite
    (e: unknown) => e instanceof WeightsError && e.hint.includes(`'${first}'`) && !e.hint.includes('official-keys'),
  );
  model.dispose();
});

test('convTranspose2d is the adjoint of conv2d: <convT(x), y> = <x, conv(y)>, and its output side follows PyTorch', async () => {
  const { F } = await import('../../src/torch/index.js');
  torch.setDefaultDtype('float64');
  try {
    torch.manualSeed(4);
    const w = torch.randn([6, 4, 3, 3]); // transposed conv 6 → 4; read as a conv weight, 4 → 6
    const x = torch.randn([2, 6, 5, 5]);
    const up = F.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 });
    assert.deepEqual(up.shape, [2, 4, 10, 10]); // (5 − 1)·2 − 2 + 3 + 1
    const y = torch.randn(up.shape);
    const down = F.conv2d(y, w, null, { stride: 2, padding: 1 });
    assert.deepEqual(down.shape, x.shape);
    const lhs = up.mul(y).sum().item();
    const rhs = x.mul(down).sum().item();
    assert.ok(Math.abs(lhs - rhs) < 1e-9 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`);
  } finally {
    torch.setDefaultDtype('float32');
  }
});

test('official initialisations: ClassNSeg weights_init (not on `shared`), slim variance scaling for HP-FCN', () => {
  const stats = (t: Tensor) => {
    const v = t.toArray();
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length), absMax: v.reduce((a, b) => Math.max(a, Math.abs(b)), 0) };
  };
  torch.manualSeed(12);
  const mt = buildMethod('multitask');
  const sd = mt.stateDict();
  const enc = stats(sd.get('encoder.encoder.24.weight')!); // 64 → 128 conv, 73,728 weights
  assert.ok(Math.abs(enc.std - 0.02) < 0.001 && Math.abs(enc.mean) < 0.001, JSON.stringify(enc));
  assert.ok(Math.abs(stats(sd.get('decoder.decoder.1.weight')!).mean - 0.5) < 0.02, 'BN weights around 0.5');
  const shared = stats(sd.get('decoder.shared.0.weight')!); // PyTorch default: U(±1/√fan_in), fan_in = 64·9
  assert.ok(Math.abs(shared.std - 1 / Math.sqrt(3 * 64 * 9)) < 0.002, JSON.stringify(shared));
  mt.dispose();
  const hp = buildMethod('hpfcn', { inputSize: 64 });
  const w = stats(hp.stateDict().get('resnet_small.block4.unit_1.bottleneck_v2.conv3.weight')!); // 1×1, fan_in 256
  const sigma = Math.sqrt(2.6 / 256);
  assert.ok(w.absMax <= 2 * sigma + 1e-6, 'truncated at two standard deviations');
  assert.ok(Math.abs(w.std - 0.8796 * sigma) < 0.02 * sigma, `std ${w.std} vs ${0.8796 * sigma} (a normal truncated at ±2σ keeps 0.8796σ)`);
  hp.dispose();
});
