import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torch, type Tensor } from '../../src/torch/index.js';
import { Bottleneck, ResNet } from '../../src/models/resnet.js';
import { loadBackboneWeights, loadWeights } from '../../src/models/weights.js';
import { MSCCNet } from '../../src/models/msccnet/index.js';
import { WeightsError } from '../../src/models/errors.js';
import { InputFileError } from '../../src/errors.js';
import { saveSafetensors } from '../../src/nn/index.js';

test('ResNet-50 V1c os8: official key names, dilations and stage shapes', () => {
  const net = new ResNet({ depth: 50, outputStride: 8 });
  const keys = [...net.stateDict().keys()];
  for (const k of ['stem.0.weight', 'stem.1.running_var', 'stem.3.weight', 'stem.7.bias', 'layer1.0.downsample.0.weight',
    'layer2.0.downsample.1.weight', 'layer3.4.conv2.weight', 'layer4.2.bn3.num_batches_tracked']) {
    assert.ok(keys.includes(k), `missing ${k}`);
  }
  assert.ok(!keys.some((k) => k.startsWith('conv1') || k.startsWith('fc')), 'no 7×7 stem, no fc');
  // contract dilation: first block of a dilated stage at half dilation (official-spec §2)
  const conv2 = (layer: typeof net.layer3, i: number) => (layer.at(i) as Bottleneck).conv2;
  assert.deepEqual([0, 1, 5].map((i) => conv2(net.layer3, i).dilation[0]), [1, 2, 2]);
  assert.deepEqual([0, 1, 2].map((i) => conv2(net.layer4, i).dilation[0]), [2, 4, 4]);
  assert.deepEqual(conv2(net.layer2, 0).stride, [2, 2]);
  const shapes = torch.noGrad(() => torch.tidy(() => net.eval().forward(torch.zeros([1, 3, 64, 64])).map((t: Tensor) => t.shape)));
  assert.deepEqual(shapes, [[1, 256, 16, 16], [1, 512, 8, 8], [1, 1024, 8, 8], [1, 2048, 8, 8]]);
});

test('ResNet-18 os16 stage shapes (basic blocks)', () => {
  const net = new ResNet({ depth: 18, outputStride: 16 });
  assert.deepEqual(net.stageChannels, [64, 128, 256, 512]);
  const shapes = torch.noGrad(() => torch.tidy(() => net.eval().forward(torch.zeros([1, 3, 64, 64])).map((t: Tensor) => t.shape)));
  assert.deepEqual(shapes, [[1, 64, 16, 16], [1, 128, 8, 8], [1, 256, 4, 4], [1, 512, 4, 4]]);
});

test('backbone-only load takes torchvision / OpenMMLab names and reports used, skipped and missing keys', async () => {
  const net = new ResNet({ depth: 18 });
  const own = net.stateDict();
  const source = new Map<string, Tensor>([
    ['backbone.layer1.0.conv1.weight', torch.ones(own.get('layer1.0.conv1.weight')!.shape)],   // OpenMMLab segmentor prefix
    ['stem.0.weight', torch.ones(own.get('stem.0.weight')!.shape)],     // OpenMMLab V1c stem
    ['conv1.weight', torch.ones([64, 3, 7, 7])],                       // torchvision 7×7 stem: does not fit V1c
    ['fc.weight', torch.ones([1000, 512])],
    ['layer1.0.bn1.weight', torch.ones([3])],                          // wrong shape
  ]);
  const report = await loadBackboneWeights(net, source);
  assert.deepEqual(report.used.sort(), ['backbone.layer1.0.conv1.weight', 'stem.0.weight']);
  assert.deepEqual(report.skipped.map((s) => s.key).sort(), ['conv1.weight', 'fc.weight', 'layer1.0.bn1.weight']);
  assert.equal(report.missing.length, own.size - 2);
  assert.ok((net.stateDict().get('layer1.0.conv1.weight')!.toTypedArray() as Float32Array).every((v) => v === 1));
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
  await assert.rejects(loadWeights(new MSCCNet({ ...small, gcn: false }), file), (err: unknown) =>
    err instanceof WeightsError && /unexpected: mscc\.gcn\.conv1\.weight/.test(err.message));
  await assert.rejects(loadWeights(b, join(dir, 'missing.safetensors')), InputFileError);
  await rm(dir, { recursive: true });
});
