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
  assert.throws(() => parseTrainConfig({ data: { manifest: 'm', augmnt: 'paper' }, optim: { learningRate: 1 } }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.ok(e.problems.includes('data.augmnt: unknown key'), e.message);
    assert.ok(e.problems.includes('optim.learningRate: unknown key'), e.message);
    return true;
  });
  assert.throws(() => parseTrainConfig({ data: { manifest: 'm' }, model: { spectralk: 2 } }), /model\.spectralk: unknown key/);
  assert.throws(() => parseTrainConfig({ data: { manifest: 'm' }, batchSz: 2 }), /batchSz: unknown key/);
});

test('--set overrides parse values as YAML scalars and create nested objects', () => {
  const raw = applyOverrides({ data: { manifest: 'm' } }, ['optim.lr=0.01', 'data.augment=paper', 'run.keepLast=3', 'data.methods=[Deepfakes]', 'model.gcn=false']);
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
