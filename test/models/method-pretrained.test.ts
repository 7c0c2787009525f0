import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faninEntry, writePth, type PthEntry } from '../helpers/pth-write.js';
import { readParityFolder } from '../helpers/baseline-parity.js';
import { buildMethod, loadPretrained, WeightsError, type LoadReport, type MethodModel } from '../../src/models/index.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { buildModel } from '../../src/train/trainer.js';
import type { Tensor } from '../../src/torch/index.js';

// model.pretrained of the baselines: ImageNet files under their official key names (torchvision's
// ResNet-50, Cadene's Xception), values from detfill-fanin-v1, loaded through the training path.
const values = (t: Tensor): number[] => Array.from(t.toTypedArray() as Float32Array);

const tmp = await mkdtemp(join(tmpdir(), 'msccnet-pretrained-baselines-'));
test.after(() => rm(tmp, { recursive: true, force: true }));

// torchvision resnet50's state dict: MVSS-Net's official `model.*` keys without the prefix
const official = JSON.parse(readFileSync(new URL('official-keys/mvss.json', import.meta.url), 'utf8')) as { keys: { key: string; shape: number[] }[] };
const torchvision = new Map(
  official.keys.filter((k) => k.key.startsWith('model.')).map((k) => [k.key.slice('model.'.length), faninEntry(k.key.slice('model.'.length), k.shape)]),
);
const torchvisionFile = join(tmp, 'resnet50-torchvision.pth');
await writeFile(torchvisionFile, writePth(torchvision));

// Cadene's xception-b5690688.pth: the Xception trunk under FFD's initial (Cadene) names, pointwise
// weights 2-D, no num_batches_tracked (saved before PyTorch 0.4.1), the ImageNet classifier `fc`
const ffdKeys = (await readParityFolder('ffd-xception_map')).keys.entries;
const cadene = new Map<string, PthEntry>();
for (const e of ffdKeys) {
  if (!/^(conv[1-4]|bn[1-4]|block\d+)\./.test(e.name) || e.name.endsWith('num_batches_tracked')) continue;
  cadene.set(e.name, faninEntry(e.name, e.name.endsWith('pointwise.weight') ? e.shape.slice(0, 2) : e.shape));
}
cadene.set('fc.weight', faninEntry('fc.weight', [1000, 2048]));
cadene.set('fc.bias', faninEntry('fc.bias', [1000]));
const cadeneFile = join(tmp, 'xception-cadene.pth');
await writeFile(cadeneFile, writePth(cadene));

async function trainModel(method: string, pretrained: string): Promise<{ model: MethodModel; report: LoadReport }> {
  let report: LoadReport | null = null;
  const model = await buildModel(parseTrainConfig({ method, data: { manifest: 'm.jsonl' }, model: { pretrained } }), (r) => (report = r));
  assert.ok(report !== null, 'the load report reaches the trainer');
  return { model, report };
}

test('MVSS-Net: torchvision ResNet-50 fills both ResNets (RGB and noise branch), fc is skipped, a Cadene file is refused', async () => {
  const { model, report } = await trainModel('mvss', torchvisionFile);
  assert.equal(report.converter, 'torchvision');
  assert.deepEqual(report.skipped.map((s) => s.key).sort(), ['fc.bias', 'fc.weight']);
  assert.equal(report.used.length, torchvision.size - 2);
  assert.deepEqual(report.missing, [], 'every backbone entry of both copies comes from the file');
  const state = model.stateDict();
  for (const key of ['conv1.weight', 'layer3.2.conv2.weight', 'layer4.0.downsample.1.running_var']) {
    const want = Array.from(torchvision.get(key)!.data as Float32Array);
    assert.deepEqual(values(state.get(`model.${key}`)!), want, `model.${key}`);
    assert.deepEqual(values(state.get(`noise_extractor.model.${key}`)!), want, `noise_extractor.model.${key}`);
  }
  await assert.rejects(loadPretrained(model, { file: cadeneFile }), (err: unknown) => err instanceof WeightsError && /takes torchvision/.test(err.message));
  model.dispose();
});

test("FFD: Cadene's ImageNet Xception fills the trunk with its pointwise weights unsqueezed; fc skipped", async () => {
  const { model, report } = await trainModel('ffd', cadeneFile);
  assert.equal(report.converter, 'cadene');
  assert.deepEqual(report.skipped.map((s) => s.key).sort(), ['fc.bias', 'fc.weight']);
  assert.equal(report.used.length, cadene.size - 2);
  assert.deepEqual(report.missing, [], 'the whole trunk comes from the file');
  const state = model.stateDict();
  const pointwise = state.get('block1.rep.0.pointwise.weight')!;
  assert.deepEqual(pointwise.shape, [128, 64, 1, 1]);
  assert.deepEqual(values(pointwise), Array.from(cadene.get('block1.rep.0.pointwise.weight')!.data as Float32Array));
  assert.deepEqual(values(state.get('bn4.running_var')!), Array.from(cadene.get('bn4.running_var')!.data as Float32Array));
  model.dispose();
});

test('methods trained from scratch officially (HP-FCN, Multi-task) refuse an ImageNet file with a reason', async () => {
  for (const method of ['hpfcn', 'multitask']) {
    const model = buildMethod(method);
    await assert.rejects(
      loadPretrained(model, { file: torchvisionFile }),
      (err: unknown) => err instanceof WeightsError && /no ImageNet layout/.test(err.message),
    );
    model.dispose();
  }
});
