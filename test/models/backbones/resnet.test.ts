import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torch, type Tensor } from '../../../src/torch/index.js';
import { Bottleneck, ResNet } from '../../../src/models/backbones/resnet.js';
import { loadWeights } from '../../../src/models/weights.js';
import { loadPretrained } from '../../../src/models/pretrained.js';
import { MSCCNet } from '../../../src/models/msccnet/index.js';
import { WeightsError } from '../../../src/models/errors.js';
import { InputFileError } from '../../../src/errors.js';
import { saveSafetensors } from '../../../src/nn/index.js';

test('ResNet-50 V1c os8: official key names, dilations and stage shapes', () => {
  const net = new ResNet({ depth: 50, outputStride: 8 });
  const keys = [...net.stateDict().keys()];
  for (const k of [
    'stem.0.weight',
    'stem.1.running_var',
    'stem.3.weight',
    'stem.7.bias',
    'layer1.0.downsample.0.weight',
    'layer2.0.downsample.1.weight',
    'layer3.4.conv2.weight',
    'layer4.2.bn3.num_batches_tracked',
  ]) {
    assert.ok(keys.includes(k), `missing ${k}`);
  }
  assert.ok(!keys.some((k) => k.startsWith('conv1') || k.startsWith('fc')), 'no 7×7 stem, no fc');
  // contract dilation: first block of a dilated stage at half dilation (official-spec §2)
  const conv2 = (layer: typeof net.layer3, i: number) => (layer.at(i) as Bottleneck).conv2;
  assert.deepEqual(
    [0, 1, 5].map((i) => conv2(net.layer3, i).dilation[0]),
    [1, 2, 2],
  );
  assert.deepEqual(
    [0, 1, 2].map((i) => conv2(net.layer4, i).dilation[0]),
    [2, 4, 4],
  );
  assert.deepEqual(conv2(net.layer2, 0).stride, [2, 2]);
  const shapes = torch.noGrad(() =>
    torch.tidy(() =>
      net
        .eval()
        .forward(torch.zeros([1, 3, 64, 64]))
        .map((t: Tensor) => t.shape),
    ),
  );
  assert.deepEqual(shapes, [
    [1, 256, 16, 16],
    [1, 512, 8, 8],
    [1, 1024, 8, 8],
    [1, 2048, 8, 8],
  ]);
});

test('ResNet-18 os16 stage shapes (basic blocks)', () => {
  const net = new ResNet({ depth: 18, outputStride: 16 });
  assert.deepEqual(net.stageChannels, [64, 128, 256, 512]);
  const shapes = torch.noGrad(() =>
    torch.tidy(() =>
      net
        .eval()
        .forward(torch.zeros([1, 3, 64, 64]))
        .map((t: Tensor) => t.shape),
    ),
  );
  assert.deepEqual(shapes, [
    [1, 64, 16, 16],
    [1, 128, 8, 8],
    [1, 256, 4, 4],
    [1, 512, 4, 4],
  ]);
});

test('model.pretrained from safetensors with OpenMMLab names fills the backbone and reports the fc head', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-pretrained-'));
  const source = new ResNet({ depth: 18 });
  const own = source.stateDict();
  const file = join(dir, 'resnet18_v1c.safetensors');
  await saveSafetensors(file, new Map([...own, ['fc.weight', torch.ones([1000, 512])], ['fc.bias', torch.zeros([1000])]]));
  const model = new MSCCNet({ backboneDepth: 18, inputSize: 64, featsChannels: 64 });
  const report = await loadPretrained(model, { file });
  assert.equal(report.converter, 'openmmlab');
  assert.equal(report.used.length, own.size);
  assert.deepEqual(report.missing, []);
  assert.deepEqual(
    report.skipped.map((s) => s.key),
    ['fc.weight', 'fc.bias'],
  );
  assert.deepEqual(model.stateDict().get('backbone_net.layer1.0.conv1.weight')!.toTypedArray(), own.get('layer1.0.conv1.weight')!.toTypedArray());
  await rm(dir, { recursive: true });
});

test('loadWeights: a saved state dict loads strictly; a mismatched one names the keys', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-weights-'));
  const small = { backboneDepth: 18, inputSize: 64, featsChannels: 64 } as const;
  const a = new MSCCNet(small);
  const file = join(dir, 'a.safetensors');
  await saveSafetensors(file, a.stateDict());
  const b = new MSCCNet(small);
  await loadWeights(b, file);
  const [name, wa] = [...a.stateDict()][5];
  assert.deepEqual(b.stateDict().get(name)!.toTypedArray(), wa.toTypedArray());
  await assert.rejects(
    loadWeights(new MSCCNet({ ...small, gcn: false }), file),
    (err: unknown) => err instanceof WeightsError && /unexpected: mscc\.gcn\.conv1\.weight/.test(err.message),
  );
  await assert.rejects(loadWeights(b, join(dir, 'missing.safetensors')), InputFileError);
  await rm(dir, { recursive: true });
});
