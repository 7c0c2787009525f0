import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePth } from '../helpers/pth-write.js';
import { runCli } from '../helpers/cli.js';
import { buildMethod, detectConverter, loadPretrained, readCheckpointWeights, WeightsError, type LoadReport } from '../../src/models/index.js';
import { loadModelFile } from '../../src/models/model-file.js';
import { parseTrainConfig } from '../../src/train/config.js';
import { buildModel } from '../../src/train/trainer.js';
import type { Tensor } from '../../src/torch/index.js';
import { smallCatnet } from '../helpers/catnet-small.js';

// CAT-Net's official init (network_CAT.py init_weights): hrnetv2_w48_imagenet_pretrained.pth, a bare
// state dict of HRNet's ImageNet classifier, fills the RGB stream by name; DCT_djpeg.pth.tar, a
// trainer checkpoint {'state_dict': …} of network_DCT.py, fills the DCT stream by name without its
// last_layer. Both files are built here at CAT-Net's layout at small widths, with values apart from any init.
const SMALL = smallCatnet(64);
type Entry = { shape: number[]; data: Float32Array | BigInt64Array };
const RGB = /^(conv[12]|bn[12]|layer1|transition[1-3]|stage[2-4])\./;

/** A file tensor whose values name it: 0.5 + (k + i) mod 97 / 1000 (positive, as BN variances must be). */
const entry = (k: number, shape: number[], tracked: boolean): Entry =>
  tracked
    ? { shape, data: BigInt64Array.of(BigInt(k)) }
    : { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => 0.5 + ((k + i) % 97) / 1000) };

const reference = buildMethod('catnet', SMALL);
const shapes = [...reference.stateDict()].map(([key, t], k) => ({ key, k, shape: [...t.shape], tracked: key.endsWith('num_batches_tracked') }));
reference.dispose();
const rgbKeys = shapes.filter((s) => RGB.test(s.key));
const dctKeys = shapes.filter((s) => s.key.startsWith('dc_'));
assert.ok(rgbKeys.length > 0 && dctKeys.length > 0);

const rgbFile = new Map<string, Entry>(rgbKeys.map((s) => [s.key, entry(s.k, s.shape, s.tracked)]));
// HRNet's ImageNet head, which CAT-Net has no place for
rgbFile.set('incre_modules.0.0.conv1.weight', entry(1, [32, 16, 1, 1], false));
rgbFile.set('downsamp_modules.0.0.weight', entry(2, [256, 128, 3, 3], false));
rgbFile.set('final_layer.0.weight', entry(3, [2048, 1024, 1, 1], false));
rgbFile.set('classifier.weight', entry(4, [1000, 2048], false));
rgbFile.set('classifier.bias', entry(5, [1000], false));
const dctFile = new Map<string, Entry>(dctKeys.map((s) => [s.key, entry(s.k + 7, s.shape, s.tracked)]));
// network_DCT's own double-JPEG head (its input is the DCT stream's 3 branches, not stage 5's)
dctFile.set('last_layer.0.weight', entry(6, [56, 56, 1, 1], false));
dctFile.set('last_layer.3.weight', entry(8, [2, 56, 1, 1], false));

const tmp = await mkdtemp(join(tmpdir(), 'msccnet-catnet-pretrained-'));
test.after(() => rm(tmp, { recursive: true, force: true }));
const rgbPath = join(tmp, 'hrnetv2_w48_imagenet_pretrained.pth');
const dctPath = join(tmp, 'DCT_djpeg.pth.tar');
await writeFile(rgbPath, writePth(rgbFile));
await writeFile(dctPath, writePth(dctFile, { under: 'state_dict' }));

const values = (t: Tensor): number[] => Array.from(t.toTypedArray() as Float32Array, Number);
const fileValues = (e: Entry): number[] => Array.from(e.data, Number);

test('the layouts are recognised from their keys: HRNet ImageNet, the DCT stream, a whole CAT-Net', async () => {
  assert.equal((await readCheckpointWeights(rgbPath)).converter, 'hrnet');
  assert.equal((await readCheckpointWeights(dctPath)).converter, 'catnet-dct');
  assert.equal(detectConverter(shapes.map((s) => s.key)), 'official');
});

test('model.pretrained [RGB, DCT] loads both streams by their official names, as the official init_weights', async () => {
  const reports: LoadReport[] = [];
  const config = parseTrainConfig({ method: 'catnet', data: { manifest: 'm.jsonl' }, model: { ...SMALL, pretrained: [rgbPath, dctPath] } });
  const model = await buildModel(config, (r) => reports.push(r));
  const [rgb, dct] = reports;
  assert.equal(rgb.converter, 'hrnet');
  assert.deepEqual(rgb.used.sort(), rgbKeys.map((s) => s.key).sort());
  assert.deepEqual(rgb.skipped.map((s) => s.key).sort(), [
    'classifier.bias',
    'classifier.weight',
    'downsamp_modules.0.0.weight',
    'final_layer.0.weight',
    'incre_modules.0.0.conv1.weight',
  ]);
  assert.deepEqual([rgb.missing, rgb.shapeMismatched], [[], []]);
  assert.equal(dct.converter, 'catnet-dct');
  assert.deepEqual(dct.used.sort(), dctKeys.map((s) => s.key).sort());
  assert.deepEqual(dct.skipped.map((s) => s.key).sort(), ['last_layer.0.weight', 'last_layer.3.weight']);
  assert.deepEqual([dct.missing, dct.shapeMismatched], [[], []]);
  const own = model.stateDict();
  for (const [key, e] of [...rgbFile, ...dctFile])
    if (own.has(key) && !key.startsWith('last_layer')) assert.deepEqual(values(own.get(key)!), fileValues(e), key);
  // stage 5, the fusion transition and CAT-Net's own head keep their init (no file value landed there)
  const fromFiles = new Set([...rgbFile.values(), ...dctFile.values()].flatMap((e) => fileValues(e)));
  for (const key of ['transition4.1.0.weight', 'stage5.0.branches.0.0.conv1.weight', 'last_layer.0.weight', 'last_layer.3.weight'])
    assert.ok(
      values(own.get(key)!).some((v) => !fromFiles.has(v)),
      `${key} keeps its init`,
    );
  model.dispose();
});

test('an HRNet ImageNet file does not fit another method, and a DCT file into the RGB stream of a wrong width is refused', async () => {
  const mvss = buildMethod('mvss', {});
  await assert.rejects(
    loadPretrained(mvss, { file: rgbPath }),
    (e: unknown) => e instanceof WeightsError && /hrnet ImageNet file does not fit/.test(e.message),
  );
  mvss.dispose();
  const wide = buildMethod('catnet', { ...SMALL, dctWidth: 16 });
  await assert.rejects(loadPretrained(wide, { file: dctPath }), WeightsError);
  wide.dispose();
});

test('weights convert --method catnet takes DCT_djpeg.pth.tar into a whole-model file', { timeout: 120_000 }, async () => {
  const out = join(tmp, 'catnet-dct.safetensors');
  const converted = await runCli(['weights', 'convert', dctPath, '--out', out, '--method', 'catnet', '--config', JSON.stringify(SMALL)]);
  assert.equal(converted.code, 0, converted.stderr);
  assert.match(converted.stdout, new RegExp(`\\(catnet-dct\\): ${dctKeys.length} used, 2 skipped, 0 missing, 0 shape-mismatched`));
  const { model } = await loadModelFile(out);
  const own = model.stateDict();
  for (const [key, e] of dctFile) if (own.has(key) && key.startsWith('dc_')) assert.deepEqual(values(own.get(key)!), fileValues(e), key);
  model.dispose();
});
