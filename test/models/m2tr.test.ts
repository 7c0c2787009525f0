import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faninEntriesOf, readParityFolder } from '../helpers/baseline-parity.js';
import { writePth } from '../helpers/pth-write.js';
import { runCli } from '../helpers/cli.js';
import { faninStateDict } from '../../src/models/detfill-fanin.js';
import { loadModelFile, loadPretrained, WeightsError, type LoadReport } from '../../src/models/index.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { buildModel } from '../../src/train/trainer.js';
import { torch, type Tensor } from '../../src/torch/index.js';
import { SGD } from '../../src/nn/index.js';
import { buildMethod } from '../../src/models/registry.js';
import { FilterSizeError } from '../../src/models/errors.js';
import { Conv2dStaticSamePadding, EfficientNet } from '../../src/models/backbones/efficientnet.js';
import { GlobalFilter, chunkedAttention, type M2TR } from '../../src/models/m2tr/index.js';

/**
 * Reference of GlobalFilter in float64, written from the definitions: X = DFT2(x)/√(HW) over
 * (H, W), its half spectrum k₂ ≤ W/2 times the weight, then irfft2 = the real part of the inverse
 * DFT2 of the Hermitian extension Y[k₁, k₂] = conj(Y[−k₁, −k₂]) for k₂ > W/2, times √(HW)/(HW).
 */
function globalFilterReference(x: Float64Array, n: number, weight: Float64Array, c: number, channel: number): Float64Array {
  const wh = Math.floor(n / 2) + 1;
  const idx = (a: number, b: number) => a * n + b;
  const Xr = new Float64Array(n * wh);
  const Xi = new Float64Array(n * wh);
  for (let k1 = 0; k1 < n; k1++) {
    for (let k2 = 0; k2 < wh; k2++) {
      let re = 0;
      let im = 0;
      for (let h = 0; h < n; h++) {
        for (let w = 0; w < n; w++) {
          const a = (-2 * Math.PI * ((k1 * h) / n + (k2 * w) / n)) % (2 * Math.PI);
          re += x[idx(h, w)] * Math.cos(a);
          im += x[idx(h, w)] * Math.sin(a);
        }
      }
      const wr = weight[((k1 * wh + k2) * c + channel) * 2];
      const wi = weight[((k1 * wh + k2) * c + channel) * 2 + 1];
      Xr[k1 * wh + k2] = (re * wr - im * wi) / n;
      Xi[k1 * wh + k2] = (re * wi + im * wr) / n;
    }
  }
  const full = (k1: number, k2: number): [number, number] =>
    k2 < wh ? [Xr[k1 * wh + k2], Xi[k1 * wh + k2]] : [Xr[((n - k1) % n) * wh + (n - k2)], -Xi[((n - k1) % n) * wh + (n - k2)]];
  const y = new Float64Array(n * n);
  for (let h = 0; h < n; h++) {
    for (let w = 0; w < n; w++) {
      let re = 0;
      for (let k1 = 0; k1 < n; k1++) {
        for (let k2 = 0; k2 < n; k2++) {
          const [a, b] = full(k1, k2);
          const t = 2 * Math.PI * ((k1 * h) / n + (k2 * w) / n);
          re += a * Math.cos(t) - b * Math.sin(t);
        }
      }
      y[idx(h, w)] = re / n;
    }
  }
  return y;
}

test('GlobalFilter (real-DFT products) equals rfft2 · weight · irfft2 (norm ortho) computed in float64', () => {
  const [n, c] = [16, 3];
  torch.manualSeed(7);
  const filter = new GlobalFilter(c, n);
  torch.noGrad(() => filter.complex_weight.normal_(0, 1)); // DC and Nyquist columns with imaginary parts, which irfft2 ignores
  const x = torch.randn([2, c, n, n]);
  const ours = torch.noGrad(() => filter.forward(x)).toTypedArray() as Float32Array;
  const xs = Float64Array.from(x.toTypedArray() as Float32Array);
  const weight = Float64Array.from(filter.complex_weight.toTypedArray() as Float32Array);
  let maxAbs = 0;
  let maxRef = 0;
  for (let b = 0; b < 2; b++) {
    for (let ch = 0; ch < c; ch++) {
      const plane = (b * c + ch) * n * n;
      const ref = globalFilterReference(xs.subarray(plane, plane + n * n), n, weight, c, ch);
      ref.forEach((v, i) => {
        maxAbs = Math.max(maxAbs, Math.abs(ours[plane + i] - v));
        maxRef = Math.max(maxRef, Math.abs(v));
      });
    }
  }
  console.log(`# GlobalFilter 16×16 vs float64: max abs ${maxAbs.toExponential(2)} (max |ref| ${maxRef.toFixed(2)})`);
  assert.ok(maxAbs < 1e-5 * maxRef, `max abs error ${maxAbs}`);
});

test('static "same" padding: computed for the image size, asymmetric on stride 2, as Conv2dStaticSamePadding', () => {
  // README of the m2tr fixture: at image size 380, 3×3/s2 pads (0, 1, 0, 1), 5×5/s2 (1, 2, 1, 2), stride 1 symmetric
  assert.deepEqual(new Conv2dStaticSamePadding(1, 1, 3, 380, { stride: 2 }).staticPadding, [0, 1, 0, 1]);
  assert.deepEqual(new Conv2dStaticSamePadding(1, 1, 5, 380, { stride: 2 }).staticPadding, [1, 2, 1, 2]);
  const s1 = new Conv2dStaticSamePadding(1, 1, 5, 380);
  assert.deepEqual([s1.staticPadding, s1.padding], [null, [2, 2]]);
  // an odd size: TF pads 3×3/s2 on 95 by (1, 1)
  assert.deepEqual(new Conv2dStaticSamePadding(1, 1, 3, 95, { stride: 2 }).padding, [1, 1]);
  // by hand: a 4×4 ramp through a 3×3/s2 box filter padded (0, 1, 0, 1) sums windows rows/cols {0,1,2} and {2,3,(pad)}
  const conv = new Conv2dStaticSamePadding(1, 1, 3, 4, { stride: 2, bias: false });
  torch.noGrad(() => conv.weight.fill_(1));
  const x = torch.tensor(
    Array.from({ length: 16 }, (_, i) => i),
    [1, 1, 4, 4],
  );
  const sum = (rows: number[], cols: number[]) => rows.reduce((a, r) => a + cols.reduce((b, c) => b + r * 4 + c, 0), 0);
  assert.deepEqual(torch.noGrad(() => conv.forward(x)).toArray(), [
    sum([0, 1, 2], [0, 1, 2]),
    sum([0, 1, 2], [2, 3]),
    sum([2, 3], [0, 1, 2]),
    sum([2, 3], [2, 3]),
  ]);
});

test('EfficientNet-b4: 32 blocks, stages ending at b1 … b7, 1792 head channels, the lukemelas _fc', () => {
  const net = new EfficientNet({ numClasses: 2 });
  assert.equal(net._blocks.length, 32);
  assert.deepEqual([...net.stageEnds.values()], [1, 5, 9, 15, 21, 29, 31]);
  assert.equal(net.featureChannels, 1792);
  assert.deepEqual(net._fc.weight.shape, [2, 1792]);
  // b2 (the M2TR texture layer) has 32 channels; block 0 has no expansion, SE squeezes to ⌊in/4⌋
  assert.equal(net._blocks.at(5)._bn2.numFeatures, 32);
  assert.equal(net._blocks.at(0)._expand_conv, null);
  assert.deepEqual(net._blocks.at(2)._se_reduce.weight.shape, [6, 144, 1, 1]);
  net.dispose();
});

test("M2TR's small configuration (backbone efficientnet-b0): b0's 16 blocks, the texture layer still the end of stage b2 (24 channels), a mask at the input size", () => {
  torch.manualSeed(0);
  const model = buildMethod('m2tr', { inputSize: 64, backbone: 'efficientnet-b0', depth: 1 }) as M2TR;
  const keys = [...model.stateDict().keys()];
  // b0: 1 + 2 + 2 + 3 + 3 + 4 + 1 blocks; stage b2 ends at block 2, whose output has 24 channels
  assert.ok(keys.includes('model._blocks.15._bn2.running_var') && !keys.some((k) => k.startsWith('model._blocks.16.')));
  assert.deepEqual(model.stateDict().get('layers.0.0.t.attention.query_embedding.weight')?.shape.slice(0, 2), [24, 24]);
  assert.deepEqual(model.stateDict().get('decoder.conv1.0.weight')?.shape, [12, 24, 3, 3]);
  assert.deepEqual(model.stateDict().get('classifier.projection.weight')?.shape, [2, 1280]);
  model.eval();
  const out = torch.noGrad(() => model.forward(torch.randn([2, 3, 64, 64])));
  assert.deepEqual(out.maskLogits.shape, [2, 2, 64, 64]);
  assert.deepEqual(out.features.shape, [2, 1280]);
  model.dispose();
});

test('chunked cross-modal attention equals the full one (queries in blocks, a ragged last block)', () => {
  torch.manualSeed(3);
  const [q, kT, v] = [torch.randn([2, 1000, 32]), torch.randn([2, 32, 1000]), torch.randn([2, 1000, 32])];
  const full = chunkedAttention(q, kT, v, 32 ** -0.5, 0);
  for (const rows of [1, 300, 999, 1000]) {
    const chunked = chunkedAttention(q, kT, v, 32 ** -0.5, rows);
    const d = full.sub(chunked).abs().max().item();
    assert.ok(d <= 1e-6 * full.abs().max().item(), `rows ${rows}: max abs difference ${d}`);
  }
  // and through a whole M2TR: attentionQueryRows changes nothing but memory
  const a = buildMethod('m2tr', { inputSize: 64 });
  const b = buildMethod('m2tr', { inputSize: 64, attentionQueryRows: 100 });
  b.loadStateDict(a.stateDict());
  a.eval();
  b.eval();
  const x = torch.randn([1, 3, 64, 64]);
  const [ya, yb] = torch.noGrad(() => [a.forward(x), b.forward(x)]);
  assert.ok(ya.imgLogits.sub(yb.imgLogits).abs().max().item() < 1e-5);
  assert.ok(ya.maskLogits.sub(yb.maskLogits).abs().max().item() < 1e-4);
  a.dispose();
  b.dispose();
});

test('an input size the complex weights were not built for is one typed line naming both sizes', () => {
  const model = buildMethod('m2tr', { inputSize: 64 }).eval();
  assert.throws(
    () => torch.noGrad(() => model.forward(torch.zeros([1, 3, 96, 96]))),
    (e: unknown) =>
      e instanceof FilterSizeError &&
      e.problem === "input is 1×3×96×96, but this model's frequency filters (complex_weight [16, 9, 32, 2]) were built for 64×64 (config inputSize 64)" &&
      /inputSize = 96/.test(e.hint),
  );
  assert.throws(() => buildMethod('m2tr', { inputSize: 100 }), /m2tr\.inputSize/);
  model.dispose();
});

test('forward, backward and one SGD step at 64²: focal + mask terms, every used parameter moves by −lr·grad', () => {
  torch.manualSeed(5);
  const model = buildMethod('m2tr', { inputSize: 64 }) as M2TR;
  model.train();
  const x = torch.randn([2, 3, 64, 64]);
  const segmentation = torch.zeros([2, 64, 64], { dtype: 'int64' });
  torch.noGrad(() => segmentation.narrow(0, 1, 1).narrow(1, 16, 32).narrow(2, 16, 32).fill_(1));
  torch.noGrad(() => segmentation.narrow(0, 0, 1).narrow(1, 0, 4).fill_(255));
  const label = torch.tensor([0, 1], [2], 'int64');
  const out = model.forward(x);
  const losses = model.losses(out, { segmentation, label, image: x });
  // focal loss by hand from the logits: α(1 − e^{−bce})^γ·bce, mean over the 2×2 outputs
  const z = out.imgLogits.toArray();
  const y = [1, 0, 0, 1];
  const focal =
    z
      .map((zi, i) => {
        const bce = Math.max(zi, 0) - zi * y[i] + Math.log1p(Math.exp(-Math.abs(zi)));
        return (1 - Math.exp(-bce)) ** 2 * bce;
      })
      .reduce((a, b) => a + b, 0) / 4;
  assert.ok(Math.abs(losses.focal.item() - focal) < 1e-6, `focal ${losses.focal.item()} vs ${focal}`);
  assert.ok(Math.abs(losses.total.item() - losses.focal.item() - losses.mask.item()) < 1e-6);
  model.zeroGrad();
  losses.total.backward();
  const params = [...model.namedParameters()];
  const before = new Map(params.map(([k, p]) => [k, p.detach().clone()]));
  const grads = new Map<string, Tensor>(params.flatMap(([k, p]) => (p.grad === null ? [] : [[k, p.grad] as [string, Tensor]])));
  const unused = params.filter(([k]) => !grads.has(k)).map(([k]) => k);
  assert.deepEqual(unused, ['model._fc.weight', 'model._fc.bias'], 'only the unused ImageNet classifier gets no gradient');
  const lr = 0.01;
  new SGD(model.parameters(), { lr }).step();
  for (const [k, p] of params) {
    const g = grads.get(k);
    const expected = g === undefined ? before.get(k)! : before.get(k)!.sub(g.mul(lr));
    assert.ok(p.sub(expected).abs().max().item() <= 1e-7, `${k} after one step`);
  }
  // the mask loss reaches the Localizer, the image loss the classifier
  assert.ok(grads.get('decoder.conv2.1.weight')!.abs().sum().item() > 0);
  assert.ok(grads.get('classifier.projection.weight')!.abs().sum().item() > 0);
  assert.ok(grads.get('layers.0.1.filter.complex_weight')!.abs().sum().item() > 0, 'the frequency filter learns');
  model.dispose();
});

test("the mask term leaves ignored pixels out and follows maskLoss 'none'", () => {
  const model = buildMethod('m2tr', { inputSize: 64 }) as M2TR;
  const logit = torch.zeros([1, 1, 64, 64]);
  const outputs = { imgLogits: torch.zeros([1, 2]), maskLogits: torch.cat([logit, logit], 1), features: torch.zeros([1, 1792]), localizerLogits: logit };
  const segmentation = torch.full([1, 64, 64], 255, { dtype: 'int64' });
  torch.noGrad(() => segmentation.narrow(1, 0, 8).fill_(1));
  const l = model.losses(outputs, { segmentation, label: torch.tensor([1], [1], 'int64'), image: torch.zeros([1, 3, 64, 64]) });
  assert.ok(Math.abs(l.mask.item() - Math.log(2)) < 1e-6, 'BCE of logit 0 is ln 2 over the labelled pixels only');
  const none = buildMethod('m2tr', { inputSize: 64, maskLoss: 'none' }) as M2TR;
  const n = none.losses(outputs, { segmentation, label: torch.tensor([1], [1], 'int64'), image: torch.zeros([1, 3, 64, 64]) });
  assert.deepEqual(Object.keys(n).sort(), ['focal', 'total']);
  model.dispose();
  none.dispose();
});

test(
  'weights convert --method m2tr: an advprop EfficientNet-b4 release file (lukemelas names) fills the backbone, _fc unused; model.pretrained loads it the same',
  { timeout: 180_000 },
  async () => {
    // the release's names are the official EfficientNet's: the fixture's `model.*` keys without the prefix, with an ImageNet _fc
    const folder = await readParityFolder('m2tr');
    const backbone = faninEntriesOf(folder.keys)
      .filter((e) => e.name.startsWith('model.') && !e.name.startsWith('model._fc.'))
      .map((e) => ({ ...e, name: e.name.slice('model.'.length) }));
    const release = [
      ...backbone,
      { name: '_fc.weight', shape: [1000, 1792], kind: 'weight_nd' as const, fanIn: 1792 },
      { name: '_fc.bias', shape: [1000], kind: 'small' as const },
    ];
    const values = faninStateDict(release);
    const state = new Map(
      release.map((e) => [
        e.name,
        e.kind === 'keep' ? { shape: e.shape, data: BigInt64Array.of(1n) } : { shape: e.shape, data: values.get(e.name)!.toTypedArray() as Float32Array },
      ]),
    );
    const tmp = await mkdtemp(join(tmpdir(), 'msccnet-m2tr-weights-'));
    try {
      const file = join(tmp, 'adv-efficientnet-b4.pth');
      await writeFile(file, writePth(state));
      const out = join(tmp, 'm2tr.safetensors');
      const converted = await runCli(['weights', 'convert', file, '--method', 'm2tr', '--config', '{"inputSize": 64}', '--out', out]);
      assert.equal(converted.code, 0, converted.stderr);
      assert.match(converted.stdout, new RegExp(`\\(efficientnet\\): ${backbone.length} used, 2 skipped, 0 missing, 0 shape-mismatched`));
      assert.match(converted.stdout, /skipped _fc\.weight: ImageNet classifier/);
      const { model } = await loadModelFile(out);
      // model.pretrained, through the trainer's model builder
      let report: LoadReport | null = null;
      const direct = await buildModel(
        parseTrainConfig({ method: 'm2tr', data: { manifest: 'm.jsonl' }, model: { inputSize: 64, pretrained: file } }),
        (r) => (report = r),
      );
      assert.ok(report !== null, 'the load report reaches the trainer');
      assert.deepEqual((report as LoadReport).missing, []);
      for (const m of [model, direct]) {
        const sd = m.stateDict();
        for (const name of ['_blocks.31._project_conv.weight', '_bn1.running_var', '_conv_stem.weight']) {
          assert.deepEqual(sd.get(`model.${name}`)!.toTypedArray(), values.get(name)!.toTypedArray(), name);
        }
        assert.deepEqual(sd.get('model._fc.weight')!.shape, [2, 1792], 'M2TR keeps its own (unused) 2-way _fc');
      }
      model.dispose();
      direct.dispose();
      // a ResNet ImageNet file does not fit M2TR's backbone: refused, naming the layout it takes
      await assert.rejects(
        loadPretrained(buildMethod('m2tr', { inputSize: 64 }), { file, from: 'torchvision' }),
        (e: unknown) => e instanceof WeightsError && /takes efficientnet/.test(e.hint),
      );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  },
);
