/**
 * CAT-Net's input from file bytes: a JPEG passes with its own coefficients and table (the
 * fixture's), anything else is JPEG-encoded at the given quality, 4:4:4, first (the official
 * quality-100 re-save of dataset_arbitrary.py), and both streams read that JPEG.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { catnetInputFromBytes } from '../../src/image/catnet-source.js';
import { CATNET_INPUT_CHANNELS } from '../../src/image/index.js';
import { InputFileError } from '../../src/errors.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { readSafetensors, tensorOf } from '../helpers/safetensors.js';

const dir = fixtureDir('baseline-parity/catnet');
const expected = await readSafetensors(join(dir, 'expected.safetensors'));
const coefficients = await readSafetensors(join(dir, 'jpeg', 'coefficients.safetensors'));
const stems = [...expected.metadata.input.matchAll(/jpeg\/(\w+)\.jpg/g)].map((m) => m[1]);
const [, C] = JSON.parse(expected.metadata.input_shape) as number[];

/** Sample `n`'s decoded RGB from the fixture, as a PNG (a file that is not a JPEG). */
async function fixturePng(n: number): Promise<{ png: Uint8Array; rgb: Uint8Array; width: number; height: number }> {
  const u8 = tensorOf(expected, 'rgb_u8', 'U8');
  const [, height, width] = u8.shape;
  const rgb = u8.data.subarray(n * height * width * 3, (n + 1) * height * width * 3);
  return {
    png: new Uint8Array(
      await sharp(rgb, { raw: { width, height, channels: 3 } })
        .png()
        .toBuffer(),
    ),
    rgb,
    width,
    height,
  };
}

test('a JPEG keeps its own coefficients and Y table: the fixture counts and tables', async () => {
  const sums = tensorOf(expected, 'input_channel_sum', 'F64').data;
  for (const [n, stem] of stems.entries()) {
    const input = await catnetInputFromBytes(new Uint8Array(await readFile(join(dir, 'jpeg', `${stem}.jpg`))), { jpegQuality: 100 });
    assert.equal(input.reencoded, false);
    assert.deepEqual(Array.from(input.qtable), Array.from(tensorOf(coefficients, `${stem}/y_qtable`, 'I32').data), `${stem}: its own Y table`);
    const plane = input.height * input.width;
    for (let c = 3; c < CATNET_INPUT_CHANNELS; c++) {
      const count = input.x.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0);
      assert.equal(count, sums[n * C + c], `${stem}: DCT-volume count of channel ${c - 3}`);
    }
  }
});

test('a PNG is JPEG-encoded first: quality 100 has the all-ones table and keeps the pixels; quality 75 the standard q75 table', async () => {
  const { png, rgb, width, height } = await fixturePng(1);
  const input = await catnetInputFromBytes(png, { jpegQuality: 100 });
  assert.equal(input.reencoded, true);
  assert.deepEqual(Array.from(input.qtable), new Array(64).fill(1), 'libjpeg at quality 100: every entry 1');
  assert.deepEqual([input.height, input.width], [8 * Math.ceil(height / 8), 8 * Math.ceil(width / 8)], 'the 8-pixel grid');
  const plane = input.height * input.width;
  let worst = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(input.x[c * plane + y * input.width + x] * 127.5 + 127.5 - rgb[(y * width + x) * 3 + c]));
  assert.ok(worst <= 4, `quality 100, 4:4:4 stays within 4 grey levels of the PNG (max ${worst})`);
  let ones = 0;
  for (let i = 3 * plane; i < input.x.length; i++) ones += input.x[i];
  assert.equal(ones, plane, 'one volume channel set per position');
  // the fixture's q75 JPEG was written by libjpeg-turbo with the standard (Annex K) table scaled to 75
  const q75 = await catnetInputFromBytes(png, { jpegQuality: 75 });
  assert.deepEqual(Array.from(q75.qtable), Array.from(tensorOf(coefficients, 'chelsea_420_q75/y_qtable', 'I32').data));
});

test('bytes that are no image are refused with InputFileError', async () => {
  await assert.rejects(catnetInputFromBytes(new Uint8Array([1, 2, 3, 4]), { jpegQuality: 100 }), InputFileError);
});
