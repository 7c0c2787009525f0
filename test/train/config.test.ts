import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { applyOverrides, describeConfig, parseTrainConfig, readConfigFile } from '../../src/train/config.js';

test('defaults are the official recipe (official-spec §9)', () => {
  const c = parseTrainConfig({ data: { manifest: 'm.jsonl' } });
  assert.deepEqual([c.optim.lr, c.optim.momentum, c.optim.weightDecay, c.optim.power, c.optim.minLrRatio], [0.009, 0.9, 5e-4, 0.9, 0.01]);
  assert.deepEqual([c.epochs, c.batchSize, c.seed, c.data.augment, c.data.cropSize], [30, 64, 866, 'official', 512]);
  assert.deepEqual(c.losses, { img_cls: 1, pix_cls_map: 1, pix_cls_mask: 1 });
  assert.equal(c.model.backboneDepth, 50);
});

test('a typo names the unknown key with its path', () => {
  assert.throws(
    () => parseTrainConfig({ data: { manifest: 'm', augmnt: 'paper' }, optim: { learningRate: 1 } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.ok(e.problems.includes('data.augmnt: unknown key'), e.message);
      assert.ok(e.problems.includes('optim.learningRate: unknown key'), e.message);
      return true;
    },
  );
  assert.throws(() => parseTrainConfig({ data: { manifest: 'm' }, model: { spectralk: 2 } }), /model\.spectralk: unknown key/);
  assert.throws(() => parseTrainConfig({ data: { manifest: 'm' }, batchSz: 2 }), /batchSz: unknown key/);
});

test('--set overrides parse values as YAML scalars and create nested objects', () => {
  const raw = applyOverrides({ data: { manifest: 'm' } }, [
    'optim.lr=0.01',
    'data.augment=paper',
    'run.keepLast=3',
    'data.methods=[Deepfakes]',
    'model.gcn=false',
  ]);
  const c = parseTrainConfig(raw);
  assert.equal(c.optim.lr, 0.01);
  assert.equal(c.data.augment, 'paper');
  assert.equal(c.run.keepLast, 3);
  assert.deepEqual(c.data.methods, ['Deepfakes']);
  assert.equal(c.model.gcn, false);
  assert.throws(() => parseTrainConfig(applyOverrides({ data: { manifest: 'm' } }, ['optim.lrr=1'])), /optim\.lrr: unknown key/);
  assert.throws(() => applyOverrides({}, ['novalue']), ConfigError);
});

test('YAML and JSON files read the same; every field has a description', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-config-'));
  await writeFile(join(dir, 'a.yaml'), 'data:\n  manifest: m.jsonl\nbatchSize: 8\n');
  await writeFile(join(dir, 'a.json'), JSON.stringify({ data: { manifest: 'm.jsonl' }, batchSize: 8 }));
  assert.deepEqual(parseTrainConfig(await readConfigFile(join(dir, 'a.yaml'))), parseTrainConfig(await readConfigFile(join(dir, 'a.json'))));
  const rows = describeConfig();
  assert.ok(rows.length > 30);
  for (const r of rows) assert.ok(r.description.length > 0, `${r.path} has no description`);
});

test('exactly one data source; microBatch must divide batchSize', () => {
  assert.throws(() => parseTrainConfig({}), /exactly one of data.manifest and data.root/);
  assert.throws(() => parseTrainConfig({ data: { manifest: 'm' }, batchSize: 8, microBatch: 3 }), /microBatch: 3 does not divide/);
});

test("method: the model section is the method's own, losses are its terms, one input side", () => {
  const h = parseTrainConfig({ method: 'hpfcn', data: { manifest: 'm' } });
  assert.equal(h.method, 'hpfcn');
  assert.deepEqual(h.model, { inputSize: 256, focalGamma: 2, pretrained: null }); // hpfcn's official defaults
  assert.deepEqual(h.losses, { focal: 1, cls: 1 });
  assert.equal(h.data.cropSize, 256); // the crop follows the model
  assert.equal(parseTrainConfig({ data: { manifest: 'm' } }).method, 'msccnet');
  assert.deepEqual(parseTrainConfig({ method: 'mvss', data: { manifest: 'm' }, losses: { edge: 2 } }).losses, { seg: 1, cls: 1, edge: 2 });
  // msccnet's fields are refused for another method, named under model.
  assert.throws(() => parseTrainConfig({ method: 'ffd', data: { manifest: 'm' }, model: { backboneDepth: 18 } }), /model\.backboneDepth: unknown key/);
  assert.throws(() => parseTrainConfig({ method: 'rnn', data: { manifest: 'm' } }), /method:/);
});

test("an unknown loss term is a ConfigError listing the method's terms", () => {
  assert.throws(
    () => parseTrainConfig({ method: 'ffd', data: { manifest: 'm' }, losses: { img_cls: 2 } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.problems, ['losses.img_cls: not a loss term of ffd (its terms: cls, map)']);
      return true;
    },
  );
});

test('crop side and model input side: either sets the other, two different values are an error', () => {
  const byCrop = parseTrainConfig({ data: { manifest: 'm', cropSize: 64 } });
  assert.deepEqual([byCrop.model.inputSize, byCrop.data.cropSize], [64, 64]);
  const byModel = parseTrainConfig({ data: { manifest: 'm' }, model: { inputSize: 96 } });
  assert.deepEqual([byModel.model.inputSize, byModel.data.cropSize], [96, 96]);
  assert.deepEqual(parseTrainConfig({ data: { manifest: 'm', cropSize: 64 }, model: { inputSize: 64 } }).data.cropSize, 64);
  assert.throws(() => parseTrainConfig({ data: { manifest: 'm', cropSize: 64 }, model: { inputSize: 128 } }), /data\.cropSize: 64 ≠ model\.inputSize 128/);
});

test("--help-config lists the chosen method's model fields and loss terms", () => {
  const paths = (method?: string) => describeConfig(method).map((r) => r.path);
  assert.ok(paths().includes('model.backboneDepth'));
  assert.ok(paths().includes('losses.pix_cls_map'));
  const mvss = describeConfig('mvss');
  assert.ok(mvss.some((r) => r.path === 'model.constrain' && r.default === true));
  assert.deepEqual(
    mvss.filter((r) => r.path.startsWith('losses.')).map((r) => r.path),
    ['losses.seg', 'losses.cls', 'losses.edge'],
  );
  assert.ok(!mvss.some((r) => r.path === 'model.backboneDepth'));
  for (const r of mvss) assert.ok(r.description.length > 0, `${r.path} has no description`);
});
