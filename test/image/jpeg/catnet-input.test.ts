/**
 * CAT-Net's input against the fixture built by the official `_create_tensor` (catnet/README §2):
 * the two JPEGs its metadata names, read by our reader and decoded by sharp, must give the stored
 * network input bit for bit. Then the crop and padding rules on hand-made files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ArgumentError } from '../../../src/errors.js';
import { catnetInput, catnetTileOrigins, JpegError, makeImage, readJpegCoefficients, type CatnetInput, type Image } from '../../../src/image/index.js';
import { fixtureDir } from '../../helpers/fixtures.js';
import { encodeBaseline } from '../../helpers/jpeg.js';
import { readSafetensors, tensorOf } from '../../helpers/safetensors.js';

const dir = fixtureDir('baseline-parity/catnet');
const expected = await readSafetensors(join(dir, 'expected.safetensors'));

async function decodeRgb(file: Uint8Array): Promise<Image> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return makeImage(info.width, info.height, info.channels, new Uint8Array(data.buffer, data.byteOffset, data.length));
}

test("the official _create_tensor's input for the fixture's two JPEGs, rebuilt bit for bit", async () => {
  // the files, in batch order, as the metadata's recipe names them
  const files = [...expected.metadata.input.matchAll(/jpeg\/\w+\.jpg/g)].map((m) => m[0]);
  const shape = JSON.parse(expected.metadata.input_shape) as number[];
  assert.equal(files.length, shape[0]);
  const rgbU8 = tensorOf(expected, 'rgb_u8', 'U8');
  const samples: CatnetInput[] = [];
  for (const [b, name] of files.entries()) {
    const bytes = new Uint8Array(await readFile(join(dir, name)));
    const rgb = await decodeRgb(bytes);
    // sharp decodes what PIL's convert('RGB') gave the official code
    const size = rgb.data.length;
    assert.ok(
      rgb.data.every((v, i) => v === rgbU8.data[b * size + i]),
      `${name}: sharp's RGB differs from rgb_u8`,
    );
    samples.push(catnetInput(rgb, readJpegCoefficients(bytes)));
  }
  assert.deepEqual([samples.length, 24, samples[0].height, samples[0].width], shape);
  const x = new Float32Array(samples.reduce((n, s) => n + s.x.length, 0));
  samples.forEach((s, b) => x.set(s.x, b * s.x.length));

  assert.deepEqual(
    samples.flatMap((s) => [...s.qtable]),
    [...tensorOf(expected, 'qtable', 'F32').data],
  );
  // the stored samples, bit for bit
  const idx = tensorOf(expected, 'input/idx', 'I64').data;
  const val = tensorOf(expected, 'input/val', 'F32').data;
  const wrong = [...idx].filter((j, k) => !Object.is(x[Number(j)], val[k]));
  assert.deepEqual(wrong, []);
  // per-channel sums: DCT-volume counts exact, RGB sums up to float64 summation order
  const sums = tensorOf(expected, 'input_channel_sum', 'F64').data;
  const plane = shape[2] * shape[3];
  for (let bc = 0; bc < shape[0] * 24; bc++) {
    let sum = 0;
    for (let i = bc * plane; i < (bc + 1) * plane; i++) sum += x[i];
    if (bc % 24 >= 3) assert.equal(sum, sums[bc], `sample ${Math.floor(bc / 24)} channel ${bc % 24}`);
    else assert.ok(Math.abs(sum - sums[bc]) <= 1e-9 * plane, `sample ${Math.floor(bc / 24)} RGB channel ${bc}: ${sum} vs ${sums[bc]}`);
  }
  // the whole tensor's statistics: mean, population std, min, max, abs-sum
  const [mean, std, min, max, absSum] = tensorOf(expected, 'input/stats', 'F64').data;
  let [s1, s2, lo, hi, abs] = [0, 0, Infinity, -Infinity, 0];
  for (const v of x) {
    s1 += v;
    s2 += v * v;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    abs += Math.abs(v);
  }
  const ourMean = s1 / x.length;
  assert.deepEqual([lo, hi], [min, max]);
  for (const [ours, theirs] of [
    [ourMean, mean],
    [Math.sqrt(s2 / x.length - ourMean * ourMean), std],
    [abs, absSum],
  ]) {
    assert.ok(Math.abs(ours - theirs) <= 1e-9 * Math.abs(theirs), `${ours} vs ${theirs}`);
  }
});

/** A one-component JPEG 16 wide and `height` high whose Y coefficient at row r, column c is `coef(r, c)`. */
function greyJpeg(height: number, coef: (r: number, c: number) => number): Uint8Array {
  const blocksHigh = Math.ceil(height / 8);
  const coefficients = Int32Array.from({ length: 16 * 8 * blocksHigh }, (_, i) => coef(Math.floor(i / 16), i % 16));
  const quantTable = Array.from({ length: 64 }, (_, i) => 1 + i);
  return encodeBaseline(16, height, [{ h: 1, v: 1, quantTable, coefficients, widthInBlocks: 2, heightInBlocks: blocksHigh }]);
}

/** The channel (0–20) whose volume value is 1 at (r, c), checking there is exactly one. */
function volumeChannel(input: CatnetInput, r: number, c: number): number {
  const plane = input.height * input.width;
  const hot = Array.from({ length: 21 }, (_, k) => input.x[(3 + k) * plane + r * input.width + c]);
  assert.equal(
    hot.reduce((a, b) => a + b, 0),
    1,
    `(${r}, ${c}) is one-hot`,
  );
  return hot.indexOf(1);
}

test('the DCT volume: channel min(|c|, 20), padding with coefficient 0 and RGB 127.5 (→ 0) past the image', () => {
  const values = [0, 1, -1, 2, -7, 19, -19, 20, -20, 21, -300, 1000];
  const coef = (r: number, c: number): number => values[(r * 16 + c) % values.length];
  const file = greyJpeg(13, coef);
  const jpeg = readJpegCoefficients(file);
  const rgb = makeImage(
    16,
    13,
    3,
    Uint8Array.from({ length: 16 * 13 * 3 }, (_, i) => (i * 37) % 256),
  );
  const input = catnetInput(rgb, jpeg, { cropSize: [24, 24] });
  assert.deepEqual([input.height, input.width, input.x.length], [24, 24, 24 * 24 * 24]);
  assert.deepEqual(
    [...input.qtable],
    Array.from({ length: 64 }, (_, i) => 1 + i),
  );
  for (let r = 0; r < 24; r++) {
    for (let c = 0; c < 24; c++) {
      // the Y array is 16 × 16 (two block rows): beyond it, padding
      const expectedChannel = r < 16 && c < 16 ? Math.min(Math.abs(coef(r, c)), 20) : 0;
      assert.equal(volumeChannel(input, r, c), expectedChannel, `(${r}, ${c})`);
      for (let ch = 0; ch < 3; ch++) {
        const v = input.x[ch * 576 + r * 24 + c];
        assert.equal(v, r < 13 && c < 16 ? Math.fround((rgb.data[3 * (r * 16 + c) + ch] - 127.5) / 127.5) : 0);
      }
    }
  }
});

test('a crop at an 8-grid origin takes the pixels and coefficients from there; bad sizes and origins are refused', () => {
  const coef = (r: number, c: number): number => ((r * 7 + c * 3) % 45) - 22;
  const jpeg = readJpegCoefficients(greyJpeg(40, coef));
  const rgb = makeImage(
    16,
    40,
    3,
    Uint8Array.from({ length: 16 * 40 * 3 }, (_, i) => (i * 11) % 256),
  );
  const input = catnetInput(rgb, jpeg, { cropSize: [16, 8], cropOrigin: [24, 8] });
  for (let r = 0; r < 16; r++) {
    for (let c = 0; c < 8; c++) {
      assert.equal(volumeChannel(input, r, c), Math.min(Math.abs(coef(24 + r, 8 + c)), 20));
      assert.equal(input.x[128 + r * 8 + c], Math.fround((rgb.data[3 * ((24 + r) * 16 + 8 + c) + 1] - 127.5) / 127.5));
    }
  }
  // the default crop is the 8-grid around the whole image
  assert.deepEqual([catnetInput(rgb, jpeg).height, catnetInput(rgb, jpeg).width], [40, 16]);
  const refused = (options: Parameters<typeof catnetInput>[2], parameter: string): void =>
    assert.throws(
      () => catnetInput(rgb, jpeg, options),
      (e: unknown) => e instanceof ArgumentError && e.parameter === parameter,
    );
  refused({ cropSize: [12, 8] }, 'cropSize');
  refused({ cropSize: [16, 8], cropOrigin: [4, 0] }, 'cropOrigin');
  refused({ cropSize: [16, 8], cropOrigin: [40, 0] }, 'cropOrigin'); // past the last grid row that holds a pixel (32)
  refused({ cropSize: [16, 16], cropOrigin: [0, 16] }, 'cropOrigin');
  // an inference tile may reach past the image: rows past it are padded (RGB 0, coefficient 0)
  const tail = catnetInput(rgb, jpeg, { cropSize: [16, 8], cropOrigin: [32, 8] });
  for (let r = 0; r < 16; r++) {
    for (let c = 0; c < 8; c++) {
      assert.equal(volumeChannel(tail, r, c), r < 8 ? Math.min(Math.abs(coef(32 + r, 8 + c)), 20) : 0);
      assert.equal(tail.x[128 + r * 8 + c], r < 8 ? Math.fround((rgb.data[3 * ((32 + r) * 16 + 8 + c) + 1] - 127.5) / 127.5) : 0);
    }
  }
  assert.throws(
    () => catnetInput(makeImage(16, 39, 3), jpeg),
    (e: unknown) => e instanceof ArgumentError && e.parameter === 'rgb',
  );
  // a first component sampled below the frame's maximum has a Y grid smaller than the image
  const quantTable = new Array<number>(64).fill(1);
  const halfY = encodeBaseline(16, 16, [
    { h: 1, v: 1, quantTable, coefficients: new Int32Array(64), widthInBlocks: 1, heightInBlocks: 1 },
    { h: 2, v: 2, quantTable, coefficients: new Int32Array(256), widthInBlocks: 2, heightInBlocks: 2 },
  ]);
  assert.throws(
    () => catnetInput(makeImage(16, 16, 3), readJpegCoefficients(halfY)),
    (e: unknown) => e instanceof JpegError && e.reason === 'unsupported' && /first component is subsampled/.test(e.problem),
  );
});

test('inference tiles cover a box from its corner rounded down to the 8-pixel grid, in steps of the input side', () => {
  // box columns 13–112 → tiles at 8 and 72 (the second reaches 136); rows 5–24 → one tile at 0
  assert.deepEqual(catnetTileOrigins({ x: 13, y: 5, width: 100, height: 20 }, 64), [
    [0, 8],
    [0, 72],
  ]);
  // a box on the grid that the side divides: exactly its tiles
  assert.deepEqual(catnetTileOrigins({ x: 0, y: 0, width: 128, height: 64 }, 64), [
    [0, 0],
    [0, 64],
  ]);
  assert.throws(
    () => catnetTileOrigins({ x: 0, y: 0, width: 8, height: 8 }, 60),
    (e: unknown) => e instanceof ArgumentError && e.parameter === 'side',
  );
});
