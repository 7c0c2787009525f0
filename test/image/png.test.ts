import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, encodeGrayPng, encodePng, makeImage } from '../../src/image/index.js';
import type { Image } from '../../src/image/index.js';
import { decodePngFast } from '../../src/image/png.js';
import { seeded } from '../helpers/opencv.js';

const rand = seeded(5);

/** A noisy image with smooth parts, so every filter's predictor meets ties, wraps and edges. */
function testImage(width: number, height: number, channels: number): Image {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = i % 5 === 0 ? Math.floor(rand() * 256) : (i * 37) % 251;
  return makeImage(width, height, channels, data);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A PNG written straight from the spec: row y uses filter `filters[y % filters.length]` (the forward filter,
 * from the original bytes), the zlib stream split into IDAT chunks of `idatSize` bytes, plus `extra` chunks.
 */
function writePng(
  image: Image,
  filters: readonly number[],
  { idatSize = 1 << 30, colour = image.channels === 4 ? 6 : 2, extra = [] as Buffer[] } = {},
): Buffer {
  const { width, height, channels: bpp, data } = image;
  const stride = width * bpp;
  const raw = new Uint8Array((stride + 1) * height);
  const at = (x: number, y: number): number => (x < 0 || y < 0 ? 0 : data[y * stride + x]);
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length];
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const a = at(x - bpp, y),
        b = at(x, y - 1),
        c = at(x - bpp, y - 1);
      const p = a + b - c,
        pa = Math.abs(p - a),
        pb = Math.abs(p - b),
        pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      raw[y * (stride + 1) + 1 + x] = (data[y * stride + x] - predictor) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, colour, 0, 0, 0], 8);
  const z = deflateSync(raw);
  const idat: Buffer[] = [];
  for (let i = 0; i < z.length; i += idatSize) idat.push(chunk('IDAT', z.subarray(i, i + idatSize)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    ...idat,
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** `png`'s signature and IHDR around unfiltered rows whose row 3 claims filter type `filter`; CRCs and zlib intact. */
function withFilterByte(png: Buffer, image: Image, filter: number): Buffer {
  const stride = image.width * image.channels;
  const rows = new Uint8Array((stride + 1) * image.height);
  for (let y = 0; y < image.height; y++) rows.set(image.data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  rows[(stride + 1) * 3] = filter;
  return Buffer.concat([png.subarray(0, 8 + 25), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array(0))]);
}

async function viaSharp(png: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(png).raw().toBuffer());
}

test("every PNG filter (None, Sub, Up, Average, Paeth, mixed), RGB and RGBA, split IDATs: the fast path gives sharp's bytes", async () => {
  for (const channels of [3, 4]) {
    const image = testImage(23, 17, channels);
    for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0, 2, 4]]) {
      const png = writePng(image, filters, { idatSize: 97, extra: [chunk('tEXt', Buffer.from('Software\0test'))] });
      const fast = decodePngFast(png);
      assert.ok(fast !== null, `filters ${filters} with ${channels} channels take the fast path`);
      assert.deepEqual([fast.width, fast.height, fast.channels], [23, 17, channels]);
      assert.deepEqual(fast.data, image.data, `filters ${filters}`);
      assert.deepEqual(fast.data, await viaSharp(png), `filters ${filters}: sharp agrees`);
    }
  }
});

test("sharp's own adaptive-filtered PNGs decode to the same bytes through the fast path", async () => {
  const image = testImage(64, 48, 3);
  const png = await sharp(image.data, { raw: { width: 64, height: 48, channels: 3 } })
    .png({ adaptiveFiltering: true, compressionLevel: 9 })
    .toBuffer();
  const fast = decodePngFast(png);
  assert.ok(fast !== null);
  assert.deepEqual(fast.data, image.data);
  assert.deepEqual((await decodeImage(png)).data, image.data);
});

test('anything but an intact 8-bit RGB(A) PNG with inert chunks is left to sharp (null)', async () => {
  const image = testImage(9, 7, 3);
  const good = writePng(image, [4]);
  assert.ok(decodePngFast(good) !== null);
  const raw = { raw: { width: 9, height: 7, channels: 3 as const } };
  const cases: Record<string, Uint8Array> = {
    truncated: good.subarray(0, good.length - 20),
    'no IEND': good.subarray(0, good.length - 12),
    'bad CRC': Buffer.concat([good.subarray(0, 29), Buffer.from([good[29] ^ 1]), good.subarray(30)]),
    'tRNS (adds alpha)': writePng(image, [0], { extra: [chunk('tRNS', new Uint8Array(6))] }),
    'iCCP-like colour chunk': writePng(image, [0], { extra: [chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f]))] }),
    'unknown filter type': withFilterByte(good, image, 5),
    grey: await encodePng(testImage(9, 7, 1)),
    palette: await sharp(image.data, raw).png({ palette: true }).toBuffer(),
    interlaced: await sharp(image.data, raw).png({ progressive: true }).toBuffer(),
    '16-bit': await sharp(
      Uint16Array.from(image.data, (v) => v * 257),
      raw,
    )
      .toColourspace('rgb16')
      .png()
      .toBuffer(),
    jpeg: await sharp(image.data, raw).jpeg().toBuffer(),
    empty: new Uint8Array(0),
  };
  for (const [name, bytes] of Object.entries(cases)) assert.equal(decodePngFast(bytes), null, name);
  // The ones sharp can read still decode through decodeImage, as before.
  assert.equal((await decodeImage(cases['tRNS (adds alpha)'])).channels, 4);
  assert.deepEqual((await decodeImage(cases.interlaced)).data, image.data);
});

test('encodeGrayPng writes a 1-channel 8-bit PNG that sharp reads back to the same pixels', async () => {
  for (const [w, h] of [
    [1, 1],
    [31, 9],
    [64, 40],
  ]) {
    const image = testImage(w, h, 1);
    for (const level of [1, 6]) {
      const png = encodeGrayPng(image, level);
      const meta = await sharp(png).metadata();
      assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth], [w, h, 1, 'uchar']);
      assert.deepEqual(new Uint8Array(await sharp(png).extractChannel(0).raw().toBuffer()), image.data, `${w}×${h} level ${level}`);
    }
  }
  assert.throws(() => encodeGrayPng(testImage(4, 4, 3)), /1-channel/);
});
