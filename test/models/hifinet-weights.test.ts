import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faninEntry, writePth, type PthEntry } from '../helpers/pth-write.js';
import { runCli } from '../helpers/cli.js';
import { readParityFolder } from '../helpers/baseline-parity.js';
import { tensorOf } from '../helpers/safetensors.js';
import { HighResolutionNet } from '../../src/models/backbones/hrnet.js';
import { buildMethod, loadModelFile, loadPretrained } from '../../src/models/index.js';
import { CheckpointLayoutError } from '../../src/models/errors.js';
import { joinOfficialCheckpoints } from '../../src/models/hifinet/index.js';
import type { Tensor } from '../../src/torch/index.js';

// HiFi-Net's weights: the two official checkpoints joined by `weights convert` (names and shapes
// from baseline-parity/hifinet keys.json, `official_key` per `official_file`), and an ImageNet
// HRNet-W18-small-v2 as model.pretrained with seg_hrnet.py init_weights' renames.
const values = (t: Tensor): number[] => Array.from(t.toTypedArray() as Float32Array);

const tmp = await mkdtemp(join(tmpdir(), 'msccnet-hifinet-weights-'));
test.after(() => rm(tmp, { recursive: true, force: true }));
const folder = await readParityFolder('hifinet');

test('weights convert joins the official HRNet and NLCDetection checkpoints (either order) into one model file', { timeout: 120_000 }, async () => {
  const files = new Map<string, Map<string, PthEntry>>();
  for (const e of folder.keys.entries) {
    const file = e.official_file!;
    if (!files.has(file)) files.set(file, new Map());
    const entry =
      e.kind === 'keep' && e.dtype === 'float32' ? { shape: e.shape, data: tensorOf(folder.expected, e.name, 'F32').data } : faninEntry(e.name, e.shape);
    files.get(file)!.set(e.official_key!, entry);
  }
  assert.equal(files.size, 2, 'two official files');
  const paths: string[] = [];
  for (const [file, state] of files) {
    const path = join(tmp, file.includes('HRNet') ? 'hrnet.pth' : 'nlc.pth');
    await writeFile(path, writePth(state));
    paths.push(path);
  }
  const out = join(tmp, 'hifinet.safetensors');
  const r = await runCli(['weights', 'convert', paths[1], paths[0], '--method', 'hifinet', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(official\): 805 used, 0 skipped, 0 missing, 0 shape-mismatched/);
  const { model } = await loadModelFile(out);
  assert.equal(model.methodName, 'hifinet');
  const state = model.stateDict();
  for (const e of folder.keys.entries) {
    if (e.dtype !== 'float32') continue;
    const want = files.get(e.official_file!)!.get(e.official_key!)!.data;
    assert.deepEqual(values(state.get(e.name)!), Array.from(want as Float32Array), e.name);
  }
  model.dispose();

  const single = await runCli(['weights', 'convert', paths[0], paths[0], '--method', 'hifinet', '-o', join(tmp, 'twice.safetensors')]);
  assert.notEqual(single.code, 0);
  assert.match(single.stderr, /a second FENet checkpoint/);
  const other = await runCli(['weights', 'convert', paths[0], paths[1], '--method', 'ffd', '-o', join(tmp, 'ffd.safetensors')]);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /one checkpoint for ffd/);
});

test('joinOfficialCheckpoints refuses a part that is neither module and a count other than two', () => {
  const fenet = { source: 'a.pth', tensors: new Map([['module.conv1fre.weight', 1]]) };
  const segnet = { source: 'b.pth', tensors: new Map([['module.getmask.gamma_s', 2]]) };
  assert.deepEqual([...joinOfficialCheckpoints([segnet, fenet]).keys()], ['SegNet.getmask.gamma_s', 'FENet.conv1fre.weight']);
  assert.throws(() => joinOfficialCheckpoints([fenet, { source: 'c.pth', tensors: new Map([['module.fc.weight', 3]]) }]), CheckpointLayoutError);
  assert.throws(() => joinOfficialCheckpoints([fenet]), /1 checkpoint\(s\), not 2/);
});

test('model.pretrained: an ImageNet HRNet-W18-small-v2 fills FENet with the official renames; its classifier head is skipped', async () => {
  // the ImageNet network of HRNet-Image-Classification's w18_small_v2 config: stride-2 stem, stages of 1/3/2 modules with 2/3/4 branches
  const imagenet = new HighResolutionNet({
    stage1: { numModules: 1, block: 'BOTTLENECK', numBlocks: [2], numChannels: [64] },
    stage2: { numModules: 1, block: 'BASIC', numBlocks: [2, 2], numChannels: [18, 36] },
    stage3: { numModules: 3, block: 'BASIC', numBlocks: [2, 2, 2], numChannels: [18, 36, 72] },
    stage4: { numModules: 2, block: 'BASIC', numBlocks: [2, 2, 2, 2], numChannels: [18, 36, 72, 144] },
  });
  const file = new Map<string, PthEntry>([...imagenet.stateDict()].map(([k, t]) => [k, faninEntry(k, [...t.shape])]));
  imagenet.dispose();
  const head = ['incre_modules.0.0.conv1.weight', 'final_layer.0.weight', 'classifier.weight', 'classifier.bias'];
  for (const [k, shape] of [
    [head[0], [32, 18, 1, 1]],
    [head[1], [2048, 1024, 1, 1]],
    [head[2], [1000, 2048]],
    [head[3], [1000]],
  ] as const)
    file.set(k, faninEntry(k, [...shape]));
  const path = join(tmp, 'hrnet_w18_small_model_v2.pth');
  await writeFile(path, writePth(file));

  const model = buildMethod('hifinet', { inputSize: 32, cropSize: 32 });
  const segnetBefore = values(model.stateDict().get('SegNet.FPN_LOC.smooth_s1.0.weight')!);
  const report = await loadPretrained(model, { file: path });
  assert.equal(report.converter, 'hrnet');
  const state = model.stateDict();
  const same = (ours: string, theirs: string) =>
    assert.deepEqual(values(state.get(`FENet.${ours}`)!), Array.from(file.get(theirs)!.data as Float32Array), `FENet.${ours} ← ${theirs}`);
  same('conv1.weight', 'conv1.weight');
  same('bn2.running_var', 'bn2.running_var');
  same('conv1fre.weight', 'conv1.weight'); // 'fre' dropped
  same('bn2fre.bias', 'bn2.bias');
  same('layer1.1.conv3.weight', 'layer1.1.conv3.weight');
  same('stage2.0.branches.1.0.conv1.weight', 'stage2.0.branches.1.0.conv1.weight');
  same('stage2.0.branches.2.1.conv2.weight', 'stage3.0.branches.2.1.conv2.weight'); // stage2 branch 2 ← stage3
  same('stage2.0.branches.3.0.bn1.weight', 'stage4.0.branches.3.0.bn1.weight'); // stage2 branch 3 ← stage4
  same('stage3.0.branches.0.0.conv1.weight', 'stage3.0.branches.0.0.conv1.weight'); // its own key first
  same('stage3.0.branches.3.1.conv1.weight', 'stage4.0.branches.3.1.conv1.weight'); // stage3 branch 3 ← stage4
  same('stage3.0.fuse_layers.2.0.0.0.weight', 'stage3.0.fuse_layers.2.0.0.0.weight');
  same('stage4.0.fuse_layers.3.0.2.0.weight', 'stage4.0.fuse_layers.3.0.2.0.weight');
  assert.deepEqual(
    report.skipped
      .filter((s) => /head/.test(s.reason))
      .map((s) => s.key)
      .sort(),
    [...head].sort(),
  );
  // what no ImageNet key gives: the transitions to the new branches, the 4-branch fuse paths of stages 2–3, never the Laplacian or the merge
  assert.ok(report.missing.includes('FENet.transition1.2.0.0.weight'));
  assert.ok(report.missing.includes('FENet.stage2.0.fuse_layers.0.2.0.weight'));
  assert.ok(!report.missing.some((k) => /laplacian|conv_1x1_merge|^SegNet/.test(k)));
  assert.deepEqual(values(model.stateDict().get('SegNet.FPN_LOC.smooth_s1.0.weight')!), segnetBefore, 'SegNet is not touched');
  model.dispose();
});
