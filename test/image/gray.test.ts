import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { makeImage, readGray, rgbToGray } from '../../src/image/index.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { readSafetensors } from '../helpers/safetensors.js';
import { testCv } from '../helpers/opencv.js';

test('rgbToGray equals opencv cvtColor(RGB2GRAY) on all 2^24 colours', async () => {
  const { cv } = await testCv();
  const side = 4096;
  const rgb = makeImage(side, side, 3);
  for (let i = 0; i < side * side; i++) {
    rgb.data[3 * i] = i >> 16;
    rgb.data[3 * i + 1] = (i >> 8) & 255;
    rgb.data[3 * i + 2] = i & 255;
  }
  const src = new cv.Mat(side, side, cv.CV_8UC3),
    dst = new cv.Mat(side, side, cv.CV_8UC1);
  try {
    src.data.set(rgb.data);
    cv.cvtColor(src, dst, cv.COLOR_RGB2GRAY);
    const ours = rgbToGray(rgb).data;
    let differing = 0;
    for (let i = 0; i < ours.length; i++) if (ours[i] !== dst.data[i]) differing++;
    assert.equal(differing, 0);
  } finally {
    src.delete();
    dst.delete();
  }
});

test('readGray equals the grey stages the official code computed (cv2.imread + BGR2GRAY)', async () => {
  const dir = fixtureDir('annotation-pairs');
  const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { pairs: { name: string; stages_file?: string }[] };
  const withStages = results.pairs.filter((p) => p.stages_file !== undefined);
  assert.ok(withStages.length > 0, 'the fixture lists pairs with stages');
  for (const pair of withStages) {
    const { tensors } = await readSafetensors(join(dir, pair.stages_file!));
    for (const kind of ['real', 'fake']) {
      const ours = await readGray(join(dir, `${pair.name}_${kind}.png`));
      assert.deepEqual(ours.data, tensors.get(`gray_${kind}_u8`)!.data, `${pair.name} ${kind}`);
    }
  }
});
