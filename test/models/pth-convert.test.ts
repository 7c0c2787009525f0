import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureDir } from '../helpers/fixtures.js';
import { torch } from '../../src/torch/index.js';
import { readPth, pthToFloat64, PthTensor } from '../../src/nn/pth/index.js';
import { MSCCNet, fromOfficialConfig, WeightsError } from '../../src/models/index.js';
import { detfillInput } from '../../src/models/detfill.js';
import { loadConverted, sourceWeights } from '../../src/models/convert.js';

const dir = fixtureDir('pth-checkpoints');
interface Stats {
  shape: number[];
  sum: number;
  sumsq: number;
  first: number[];
}
interface OfficialSpec {
  official_config_overrides: unknown;
  outputs: { img_logits: number[][]; mask_logits: Stats };
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<
  string,
  { format: string; entries: Record<string, unknown> } & Partial<OfficialSpec>
>;
const officialFile = Object.keys(expected).find((f) => expected[f].outputs !== undefined)!;
const official = expected[officialFile] as unknown as OfficialSpec;
const ddpFile = Object.keys(expected).find((f) => Object.keys(expected[f].entries).some((k) => k.startsWith('model/module.')))!;
const mmlabFile = Object.keys(expected).find((f) => Object.keys(expected[f].entries).some((k) => k.startsWith('state_dict/stem.')))!;
const tvFile = Object.keys(expected).find((f) => 'conv1.weight' in expected[f].entries)!;

// as the msccnet-128 fixture: |a − b| ≤ 1e-4 + 1e-4·|b|
const closeTo = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 + 1e-4 * Math.abs(b);
const config = fromOfficialConfig(official.official_config_overrides);

test(`${officialFile} loads strictly into its official configuration and reproduces the eval outputs`, async () => {
  const model = new MSCCNet(config);
  const weights = sourceWeights((await readPth(join(dir, officialFile))).root);
  assert.equal(weights.converter, 'official');
  const report = loadConverted(model, weights, officialFile);
  assert.equal(report.used.length, model.stateDict().size);
  assert.deepEqual([report.missing, report.skipped, report.shapeMismatched], [[], [], []]);
  model.eval();
  const side = model.config.inputSize;
  const { img, mask, shape } = torch.noGrad(() =>
    torch.tidy(() => {
      const out = model.forward(torch.fromTypedArray(detfillInput(1, side), [1, 3, side, side]));
      return { img: out.imgLogits.toTypedArray() as Float32Array, mask: out.maskLogits.toTypedArray() as Float32Array, shape: out.maskLogits.shape };
    }),
  );
  const want = official.outputs;
  want.img_logits.flat().forEach((v, i) => assert.ok(closeTo(img[i], v), `img_logits[${i}] ${img[i]} vs ${v}`));
  assert.deepEqual(shape, want.mask_logits.shape);
  want.mask_logits.first.forEach((v, i) => assert.ok(closeTo(mask[i], v), `mask_logits[${i}] ${mask[i]} vs ${v}`));
  let sum = 0;
  let sumsq = 0;
  let sumAbs = 0;
  for (const v of mask) {
    sum += v;
    sumsq += v * v;
    sumAbs += Math.abs(v);
  }
  assert.ok(Math.abs(sum - want.mask_logits.sum) <= 1e-4 * sumAbs, `mask sum ${sum} vs ${want.mask_logits.sum}`);
  assert.ok(Math.abs(sumsq / want.mask_logits.sumsq - 1) <= 1e-4, `mask sumsq ${sumsq} vs ${want.mask_logits.sumsq}`);
  model.dispose();
});

test(`${ddpFile} (module. prefix, legacy format) loads strictly into the same model, equal to the zip file`, async () => {
  const a = new MSCCNet(config);
  const b = new MSCCNet(config);
  loadConverted(a, sourceWeights((await readPth(join(dir, officialFile))).root), officialFile);
  const report = loadConverted(b, sourceWeights((await readPth(join(dir, ddpFile))).root), ddpFile);
  assert.ok(report.used.every((k) => k.startsWith('module.')));
  for (const [name, t] of a.stateDict()) assert.deepEqual(b.stateDict().get(name)!.toTypedArray(), t.toTypedArray(), name);
});

test('a strict official load into another configuration names the mismatches', async () => {
  const weights = sourceWeights((await readPth(join(dir, officialFile))).root);
  assert.throws(
    () => loadConverted(new MSCCNet({ ...config, gcn: false }), weights, officialFile),
    (err: unknown) => err instanceof WeightsError && /unexpected: mscc\.gcn\.conv1\.weight/.test(err.message),
  );
});

test(`${mmlabFile}: the OpenMMLab V1c pretrain fills the whole backbone, fc is skipped with its reason`, async () => {
  const backboneOverrides = (official.official_config_overrides as { backbone: unknown }).backbone;
  const model = new MSCCNet(fromOfficialConfig({ backbone: backboneOverrides, head: { feats_channels: 32, spectral_height: 8 } }));
  const weights = sourceWeights((await readPth(join(dir, mmlabFile))).root);
  assert.equal(weights.converter, 'openmmlab');
  const report = loadConverted(model, weights, mmlabFile);
  assert.deepEqual(report.missing, [], 'every backbone entry comes from the pretrain');
  assert.deepEqual(report.skipped.map((s) => s.key).sort(), ['fc.bias', 'fc.weight']);
  assert.equal(report.used.length, weights.tensors.size - 2);
  const key = 'layer2.0.conv1.weight';
  const source = weights.tensors.get(key)!;
  assert.deepEqual(model.stateDict().get(`backbone_net.${key}`)!.toTypedArray(), Float32Array.from(pthToFloat64(source)));
});

test(`${tvFile}: torchvision's 7×7 stem is refused by a deep-stem model, loads with useStem false, and layer1–4 on request`, async () => {
  // torchvision's stem width is its conv1's output count; layer1 then has no downsample
  const stemChannels = (expected[tvFile].entries['conv1.weight'] as { shape: number[] }).shape[0];
  const backbone = { ...(official.official_config_overrides as { backbone: Record<string, unknown> }).backbone, stem_channels: stemChannels };
  const weights = sourceWeights((await readPth(join(dir, tvFile))).root);
  assert.equal(weights.converter, 'torchvision');
  const small = { head: { feats_channels: 32, spectral_height: 8 } };
  assert.throws(
    () => loadConverted(new MSCCNet(fromOfficialConfig({ backbone, ...small })), weights, tvFile),
    (err: unknown) => err instanceof WeightsError && /useStem: false/.test(err.message),
  );
  const stemless = new MSCCNet(fromOfficialConfig({ backbone: { ...backbone, use_stem: false }, ...small }));
  const full = loadConverted(stemless, weights, tvFile);
  assert.deepEqual(full.missing, []);
  assert.ok(full.used.includes('conv1.weight'));
  const layers = loadConverted(new MSCCNet(fromOfficialConfig({ backbone, ...small })), weights, tvFile, { layersOnly: true });
  assert.ok(layers.missing.every((k) => k.startsWith('backbone_net.stem.')) && layers.missing.length > 0);
  assert.ok(layers.skipped.some((s) => s.key === 'conv1.weight' && /useStem: false/.test(s.reason)));
  assert.ok(weights.tensors.get('conv1.weight') instanceof PthTensor);
});

test('a load that uses no tensor is refused (a state dict read with the wrong layout)', async () => {
  const weights = sourceWeights((await readPth(join(dir, tvFile))).root, 'official');
  assert.throws(
    () => loadConverted(new MSCCNet(config), weights, tvFile),
    (err: unknown) => err instanceof WeightsError && /none of \d+ tensors fits/.test(err.message),
  );
});
