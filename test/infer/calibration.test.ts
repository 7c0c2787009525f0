import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { NORMALIZE, openCalibrationSet } from '../../src/infer/index.js';
import { readMetadata } from '../../src/onnx/index.js';

async function png(path: string, side: number, value: number): Promise<void> {
  const data = new Uint8Array(side * side * 3).map((_, i) => (value + i) % 256);
  await writeFile(
    path,
    await sharp(data, { raw: { width: side, height: side, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

test('calibration set from a folder and from a manifest: crops preprocessed as detection does, hash names the set', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-calib-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'crops', 'sub'), { recursive: true });
  for (const [i, f] of ['a.png', 'b.png', 'sub/c.png', 'd.png'].entries()) await png(join(dir, 'crops', f), 16, 40 * i);
  await writeFile(join(dir, 'crops', 'notes.txt'), 'not an image');

  const set = await openCalibrationSet(join(dir, 'crops'), 16, { limit: 2 });
  const names = set.files.map((f) => f.slice(dir.length + 7));
  assert.equal(names.length, 2);
  assert.ok(names.every((n) => ['a.png', 'b.png', 'd.png', 'sub/c.png'].includes(n)) && names[0] < names[1], `a sample in list order: ${names}`);
  assert.deepEqual((await openCalibrationSet(join(dir, 'crops'), 16, { limit: 2 })).files, set.files, 'the same sample every time');
  const batches = [];
  for await (const b of set.batches()) batches.push(b);
  assert.equal(batches.length, 2);
  assert.deepEqual(batches[0].dims, [1, 3, 16, 16]);
  // same side: no resampling, only normalisation (first pixel's red, second pixel's green of the first crop)
  const raw = await sharp(set.files[0]).raw().toBuffer();
  assert.ok(Math.abs(batches[0].data[0] - (raw[0] - NORMALIZE.mean[0]) / NORMALIZE.std[0]) < 1e-6);
  assert.ok(Math.abs(batches[0].data[256 + 1] - (raw[4] - NORMALIZE.mean[1]) / NORMALIZE.std[1]) < 1e-6);
  assert.equal((await openCalibrationSet(join(dir, 'crops'), 16, { limit: 2 })).hash, set.hash, 'hash is stable');
  await png(set.files[1], 16, 7);
  assert.notEqual((await openCalibrationSet(join(dir, 'crops'), 16, { limit: 2 })).hash, set.hash, 'hash follows the bytes');

  const entry = (split: string, image: string) =>
    JSON.stringify({ split, method: 'youtube', compression: 'c23', video: '000', frame: 0, image, mask: null, label: 0 });
  await writeFile(
    join(dir, 'manifest.jsonl'),
    `${[entry('train', 'crops/a.png'), entry('test', 'crops/b.png'), entry('train', 'crops/sub/c.png')].join('\n')}\n`,
  );
  const fromManifest = await openCalibrationSet(join(dir, 'manifest.jsonl'), 16);
  assert.deepEqual(fromManifest.files, [join(dir, 'crops/a.png'), join(dir, 'crops/sub/c.png')], 'the train split only');

  await mkdir(join(dir, 'empty'));
  await assert.rejects(openCalibrationSet(join(dir, 'empty'), 16), /holds no images/);
  await assert.rejects(openCalibrationSet(join(dir, 'missing'), 16), /does not exist/);
});

test('msccnet export --quantize int8 --calibration writes a QDQ model with its calibration in the metadata', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-calib-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'crops'));
  for (const i of [0, 1]) await png(join(dir, 'crops', `${i}.png`), 64, 90 * i);
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'export', '--detfill', '--input-size', '64', ...args], { encoding: 'utf8' });
  const missing = cli('--quantize', 'int8', '-o', join(dir, 'x.onnx'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /--calibration/);
  assert.match(missing.stderr, /int8-dynamic/);
  const out = join(dir, 'm.onnx');
  const r = cli('--quantize', 'int8', '--calibration', join(dir, 'crops'), '-o', out);
  assert.equal(r.status, 0, r.stderr);
  const meta = readMetadata(await readFile(out));
  assert.equal(meta.precision, 'int8');
  assert.equal(meta.calibrationImages, '2');
  assert.equal(meta.calibrationHash, (await openCalibrationSet(join(dir, 'crops'), 64)).hash);
  assert.equal(meta.weights, 'detfill-v1');
});
