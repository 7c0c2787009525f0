import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage, encodeJpeg, encodePng, makeImage, readColor, resize } from '../../src/image/index.js';
import { InputFileError } from '../../src/errors.js';
import { seeded } from '../helpers/opencv.js';

const rand = seeded(21);
const rgb = makeImage(
  5,
  3,
  3,
  Uint8Array.from({ length: 45 }, () => Math.floor(rand() * 256)),
);

test('a 16-bit PNG reads as its high bytes (OpenCV png_set_strip_16), e.g. 0x01FF → 1', async () => {
  const wide = Uint16Array.from(rgb.data, (v) => v * 256 + Math.floor(rand() * 256));
  wide[0] = 0x01ff;
  const png = await sharp(wide, { raw: { width: 5, height: 3, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
  assert.equal((await sharp(png).metadata()).depth, 'ushort');
  const read = await readColor(png);
  assert.deepEqual(
    read.data,
    Uint8Array.from(wide, (v) => v >> 8),
  );
});

test('a grey PNG reads as 3 equal channels; RGBA loses alpha without compositing', async () => {
  const grey = makeImage(5, 3, 1, rgb.data.subarray(0, 15).slice());
  const g = await readColor(await encodePng(grey));
  assert.equal(g.channels, 3);
  for (let i = 0; i < 15; i++) assert.deepEqual([...g.data.subarray(3 * i, 3 * i + 3)], [grey.data[i], grey.data[i], grey.data[i]]);
  const rgba = makeImage(5, 3, 4);
  for (let i = 0; i < 15; i++) {
    rgba.data.set(rgb.data.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba.data[4 * i + 3] = (i * 17) % 256;
  }
  assert.equal((await decodeImage(await encodePng(rgba))).channels, 4);
  assert.deepEqual((await readColor(await encodePng(rgba))).data, rgb.data);
});

test('masks are written as 1-channel PNGs and read back unchanged', async () => {
  const mask = makeImage(4, 2, 1, Uint8Array.from([0, 255, 255, 0, 0, 0, 255, 255]));
  const png = await encodePng(mask);
  assert.equal((await sharp(png).metadata()).channels, 1);
  assert.deepEqual(
    (await readColor(png)).data.filter((_, i) => i % 3 === 0),
    mask.data,
  );
});

test('a truncated or non-image file fails with InputFileError', async () => {
  const png = await encodePng(
    makeImage(
      64,
      64,
      3,
      Uint8Array.from({ length: 64 * 64 * 3 }, () => Math.floor(rand() * 256)),
    ),
  );
  await assert.rejects(decodeImage(png.subarray(0, png.length >> 1)), InputFileError);
  await assert.rejects(decodeImage(new TextEncoder().encode('not an image')), InputFileError);
});

test('JPEG round trip keeps the size and stays close; resize gives the requested size (nearest keeps mask values)', async () => {
  const smooth = makeImage(32, 24, 3);
  for (let i = 0; i < smooth.data.length; i++) smooth.data[i] = ((i * 7) % 200) + 20;
  const back = await readColor(await encodeJpeg(smooth, 95));
  assert.deepEqual([back.width, back.height, back.channels], [32, 24, 3]);
  const half = await resize(smooth, 16, 12);
  assert.deepEqual([half.width, half.height, half.channels], [16, 12, 3]);
  const mask = makeImage(
    8,
    8,
    1,
    Uint8Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 255 : 0)),
  );
  const up = await resize(mask, 16, 16, 'nearest');
  assert.deepEqual([up.width, up.height, up.channels], [16, 16, 1]);
  assert.deepEqual([...new Set(up.data)].sort(), [0, 255]);
  assert.equal(up.data[0], 255);
  assert.equal(up.data[15], 0);
});
