/**
 * The JPEG coefficient reader against three kinds of independent truth: the CAT-Net fixture's
 * libjpeg-verified coefficients (exact), libjpeg's own pixels through sharp (the dequantised,
 * inverse-DCT'd Y plane), and files whose coefficients are known because the test wrote them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { JpegError, readJpegCoefficients, type JpegCoefficients } from '../../../src/image/index.js';
import { fixtureDir } from '../../helpers/fixtures.js';
import { readSafetensors, tensorOf } from '../../helpers/safetensors.js';
import { encodeBaseline, jfifLuma, quantise, reconstructPlane, testPicture } from '../../helpers/jpeg.js';

const jpegDir = join(fixtureDir('baseline-parity/catnet'), 'jpeg');
const expected = await readSafetensors(join(jpegDir, 'coefficients.safetensors'));
const stems = [...expected.tensors.keys()].filter((k) => k.endsWith('/y_coef')).map((k) => k.slice(0, -'/y_coef'.length));
/** A fixture file as a plain Uint8Array (a Buffer's slice() would share memory with it). */
const fixtureJpeg = async (stem: string): Promise<Uint8Array> => new Uint8Array(await readFile(join(jpegDir, `${stem}.jpg`)));

test('the fixture names its six JPEGs', () => assert.equal(stems.length, 6));

for (const stem of stems) {
  test(`${stem}.jpg: Y coefficients, Y table, size and sampling equal the fixture's (libjpeg) exactly`, async () => {
    const jpeg = readJpegCoefficients(await fixtureJpeg(stem));
    const yCoef = tensorOf(expected, `${stem}/y_coef`, 'I32');
    const y = jpeg.components[0];
    assert.deepEqual([8 * y.heightInBlocks, 8 * y.widthInBlocks], yCoef.shape);
    const wrong = yCoef.data.reduce((n, v, i) => n + (v === y.coefficients[i] ? 0 : 1), 0);
    assert.equal(wrong, 0, `${wrong} of ${yCoef.data.length} coefficients differ`);
    assert.deepEqual([...y.quantTable], [...tensorOf(expected, `${stem}/y_qtable`, 'I32').data]);
    assert.deepEqual([jpeg.height, jpeg.width], [...tensorOf(expected, `${stem}/size_hw`, 'I32').data]);
    assert.deepEqual(
      jpeg.components.flatMap((c) => [c.h, c.v, c.quantTableIndex]),
      [...tensorOf(expected, `${stem}/comp_info`, 'I32').data],
    );
    assert.deepEqual([...jpeg.quantTables[y.quantTableIndex]!], [...y.quantTable]);
  });
}

/**
 * How far libjpeg's pixels may lie from ours. Ours are exact (double IDCT, not rounded); libjpeg's
 * ISLOW IDCT is a 13-bit fixed-point approximation whose output is rounded to integers: the
 * fixture measured 0.55–1.65 max before rounding and clipping, so ≤ 1.5 away from an unrounded
 * exact value once both clip to [0, 255]. Colour files add libjpeg's integer YCbCr → RGB tables and
 * the rounding of R, G and B: ≤ 0.5 on JFIF Y recomputed from them. Pixels where R, G or B clipped
 * are left out, because there Y cannot be recovered from RGB. Measured here: max 0.57 (grey) and
 * 0.98 (colour), mean 0.25–0.30 (the mean |error| of rounding alone is 0.25). A wrong block, table
 * or zigzag position moves both by tens of levels.
 */
const MAX_GRAY = 1;
const MAX_COLOUR = 1.5;
const MEAN = 0.35;

/** |ours − libjpeg| over the Y plane: max and mean (over the pixels compared), and how many were compared. */
async function lumaDifference(file: Uint8Array, jpeg: JpegCoefficients): Promise<{ max: number; mean: number; compared: number }> {
  const ours = reconstructPlane(jpeg.components[0], jpeg.width, jpeg.height);
  const grey = jpeg.components.length === 1;
  // b-w keeps a grey JPEG's single decoded channel as it is; colour comes back as libjpeg's RGB
  const { data, info } = await (grey ? sharp(file).toColourspace('b-w') : sharp(file)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [jpeg.width, jpeg.height, grey ? 1 : 3]);
  const theirs = grey ? Float64Array.from(data) : jfifLuma(data);
  let max = 0;
  let sum = 0;
  let compared = 0;
  for (let i = 0; i < ours.length; i++) {
    if (!grey && [data[3 * i], data[3 * i + 1], data[3 * i + 2]].some((v) => v === 0 || v === 255)) continue;
    const d = Math.abs(ours[i] - theirs[i]);
    max = Math.max(max, d);
    sum += d;
    compared++;
  }
  return { max, mean: sum / compared, compared };
}

async function assertMatchesLibjpeg(label: string, file: Uint8Array, jpeg: JpegCoefficients): Promise<void> {
  const { max, mean, compared } = await lumaDifference(file, jpeg);
  const bound = jpeg.components.length === 1 ? MAX_GRAY : MAX_COLOUR;
  assert.ok(compared > 0.5 * jpeg.width * jpeg.height, `${label}: only ${compared} pixels compared`);
  assert.ok(max <= bound && mean <= MEAN, `${label}: |IDCT(coefficients) − libjpeg Y| max ${max.toFixed(3)} (≤ ${bound}), mean ${mean.toFixed(3)} (≤ ${MEAN})`);
}

test("every fixture JPEG's Y coefficients, dequantised and inverse-DCT'd, give libjpeg's Y plane (sharp)", async () => {
  for (const stem of stems) {
    const file = await fixtureJpeg(stem);
    await assertMatchesLibjpeg(stem, file, readJpegCoefficients(file));
  }
});

const picture = (width: number, height: number, seed: number) => sharp(testPicture(width, height, seed), { raw: { width, height, channels: 3 } });

const sharpCases = [
  { width: 37, height: 53, quality: 90, chromaSubsampling: '4:2:0', progressive: false },
  { width: 37, height: 53, quality: 90, chromaSubsampling: '4:4:4', progressive: true },
  { width: 64, height: 48, quality: 50, chromaSubsampling: '4:2:0', progressive: true },
  { width: 129, height: 67, quality: 75, chromaSubsampling: '4:4:4', progressive: false },
  { width: 17, height: 9, quality: 100, chromaSubsampling: '4:2:0', progressive: true },
  { width: 95, height: 111, quality: 30, chromaSubsampling: '4:2:0', progressive: false },
] as const;

for (const [seed, c] of sharpCases.entries()) {
  test(`sharp ${c.width}×${c.height} q${c.quality} ${c.chromaSubsampling}${c.progressive ? ' progressive' : ''}: the coefficients give libjpeg's Y plane`, async () => {
    const file = await picture(c.width, c.height, seed).jpeg(c).toBuffer();
    const jpeg = readJpegCoefficients(file);
    assert.equal(jpeg.coding, c.progressive ? 'progressive' : 'baseline');
    assert.deepEqual(
      jpeg.components.map((k) => [k.h, k.v]),
      c.chromaSubsampling === '4:2:0'
        ? [
            [2, 2],
            [1, 1],
            [1, 1],
          ]
        : [
            [1, 1],
            [1, 1],
            [1, 1],
          ],
    );
    await assertMatchesLibjpeg('sharp', file, jpeg);
  });
}

test('sharp greyscale (baseline and progressive) and mozjpeg (trellis, optimised progressive scans): libjpeg Y plane', async () => {
  const grey = (progressive: boolean) => picture(61, 43, 7).toColourspace('b-w').jpeg({ quality: 85, progressive }).toBuffer();
  for (const file of [await grey(false), await grey(true), await picture(70, 45, 8).jpeg({ quality: 80, mozjpeg: true }).toBuffer()]) {
    const jpeg = readJpegCoefficients(file);
    await assertMatchesLibjpeg(`${jpeg.components.length} component(s) ${jpeg.coding}`, file, jpeg);
  }
});

test('a progressive file has exactly the coefficients of its baseline twin (same pixels, quality and sampling) in every component', async () => {
  for (const [seed, [width, height, chromaSubsampling]] of (
    [
      [37, 53, '4:4:4'],
      [150, 97, '4:2:0'],
    ] as const
  ).entries()) {
    const twin = (progressive: boolean) =>
      picture(width, height, 20 + seed)
        .jpeg({ quality: 92, chromaSubsampling, progressive })
        .toBuffer();
    const [baseline, progressive] = [readJpegCoefficients(await twin(false)), readJpegCoefficients(await twin(true))];
    assert.equal(progressive.coding, 'progressive');
    for (const [i, c] of baseline.components.entries()) {
      const p = progressive.components[i];
      assert.deepEqual([p.widthInBlocks, p.heightInBlocks, [...p.quantTable]], [c.widthInBlocks, c.heightInBlocks, [...c.quantTable]]);
      assert.ok(
        c.coefficients.every((v, j) => v === p.coefficients[j]),
        `${width}×${height} component ${i}`,
      );
    }
  }
});

/** The picture as Y, Cb, Cr planes (JFIF), each component subsampled to its factors by averaging. */
function ycbcrComponents(width: number, height: number, sampling: ReadonlyArray<readonly [h: number, v: number]>, seed: number) {
  const rgb = testPicture(width, height, seed);
  const y = jfifLuma(rgb);
  const planes = [y, Float64Array.from(y, (l, i) => 128 + 0.564 * (rgb[3 * i + 2] - l)), Float64Array.from(y, (l, i) => 128 + 0.713 * (rgb[3 * i] - l))];
  const hmax = Math.max(...sampling.map(([h]) => h));
  const vmax = Math.max(...sampling.map(([, v]) => v));
  return sampling.map(([h, v], i) => {
    const [fx, fy] = [hmax / h, vmax / v];
    const [w, hh] = [Math.ceil((width * h) / hmax), Math.ceil((height * v) / vmax)];
    const plane = Float64Array.from({ length: w * hh }, (_, j) => {
      const [py, px] = [Math.floor(j / w), j % w];
      let s = 0;
      for (let dy = 0; dy < fy; dy++)
        for (let dx = 0; dx < fx; dx++) s += planes[i][Math.min(height - 1, py * fy + dy) * width + Math.min(width - 1, px * fx + dx)];
      return s / (fx * fy);
    });
    const quantTable = Array.from({ length: 64 }, (_, n) => 1 + ((3 * (n >> 3) + 2 * (n & 7) + 5 * i) % 23));
    return { h, v, quantTable, ...quantise(plane, w, hh, quantTable) };
  });
}

const layouts = [
  {
    name: '4:2:2 (Y 2×1)',
    sampling: [
      [2, 1],
      [1, 1],
      [1, 1],
    ],
    options: {},
  },
  {
    name: '4:4:0 (Y 1×2) with restarts every 3 MCUs',
    sampling: [
      [1, 2],
      [1, 1],
      [1, 1],
    ],
    options: { restartInterval: 3 },
  },
  {
    name: '4:1:1 (Y 4×1)',
    sampling: [
      [4, 1],
      [1, 1],
      [1, 1],
    ],
    options: {},
  },
  {
    name: '4:2:0 in three non-interleaved scans with restarts',
    sampling: [
      [2, 2],
      [1, 1],
      [1, 1],
    ],
    options: { interleaved: false, restartInterval: 5 },
  },
  {
    name: 'Y 2×2 with chroma 2×1 and 1×2',
    sampling: [
      [2, 2],
      [2, 1],
      [1, 2],
    ],
    options: { restartInterval: 1 },
  },
  { name: 'grey declaring 2×2 sampling', sampling: [[2, 2]], options: { restartInterval: 7 } },
] as const;

for (const [seed, layout] of layouts.entries()) {
  test(`${layout.name}, 45×29: the reader returns exactly the coefficients written, and libjpeg decodes the file to their Y plane`, async () => {
    const components = ycbcrComponents(45, 29, layout.sampling, 40 + seed);
    const file = encodeBaseline(45, 29, components, layout.options);
    const jpeg = readJpegCoefficients(file);
    for (const [i, c] of components.entries()) {
      const got = jpeg.components[i];
      assert.deepEqual([got.h, got.v, got.widthInBlocks, got.heightInBlocks], [c.h, c.v, c.widthInBlocks, c.heightInBlocks], `component ${i}`);
      assert.deepEqual([...got.quantTable], c.quantTable);
      assert.ok(
        c.coefficients.every((v, j) => v === got.coefficients[j]),
        `component ${i}'s coefficients differ`,
      );
    }
    await assertMatchesLibjpeg(layout.name, file, jpeg);
  });
}

/** `file` with the byte at `at` set to `value`. */
function patched(file: Uint8Array, at: number, value: number): Uint8Array {
  const out = file.slice();
  out[at] = value;
  return out;
}

/** Offset of the first FF `marker`. */
function markerAt(file: Uint8Array, marker: number): number {
  for (let i = 0; i + 1 < file.length; i++) if (file[i] === 0xff && file[i + 1] === marker) return i;
  throw new Error(`no FF ${marker.toString(16)} marker`);
}

test('arithmetic-coded, lossless, hierarchical and 12-bit files are refused by name, with the fix', async () => {
  const file = await fixtureJpeg('chelsea_gray_q85');
  const sof = markerAt(file, 0xc0);
  const cases: Array<[number, RegExp]> = [
    [0xc9, /arithmetic-coded sequential \(SOF9\)/],
    [0xca, /arithmetic-coded progressive \(SOF10\)/],
    [0xc3, /lossless \(SOF3\)/],
    [0xcf, /arithmetic-coded hierarchical lossless \(SOF15\)/],
    [0xc5, /hierarchical sequential \(SOF5\)/],
  ];
  for (const [marker, mode] of cases) {
    assert.throws(
      () => readJpegCoefficients(patched(file, sof + 1, marker)),
      (e: unknown) => e instanceof JpegError && e.reason === 'unsupported' && mode.test(e.problem) && /re-encode it as a baseline JPEG/.test(e.hint),
    );
  }
  assert.throws(
    () => readJpegCoefficients(patched(file, sof + 4, 12)),
    (e: unknown) => e instanceof JpegError && e.reason === 'unsupported' && /12-bit/.test(e.problem),
  );
});

test('the pixel limit is checked from the frame header; not-a-JPEG input is refused', async () => {
  const file = await fixtureJpeg('chelsea_420_q75');
  assert.throws(
    () => readJpegCoefficients(file, { maxPixels: 197 * 291 - 1 }),
    (e: unknown) => e instanceof JpegError && e.code === 'MSCCNET_JPEG' && e.reason === 'too-large' && /291×197 pixels/.test(e.problem),
  );
  assert.equal(readJpegCoefficients(file, { maxPixels: 197 * 291 }).width, 291);
  const sof = markerAt(file, 0xc0);
  const huge = file.slice();
  huge.set([0xff, 0xff, 0xff, 0xff], sof + 5); // 65535 × 65535 = 4.3 gigapixels
  assert.throws(
    () => readJpegCoefficients(huge),
    (e: unknown) => e instanceof JpegError && e.reason === 'too-large' && /65535×65535/.test(e.problem),
  );
  const png = await sharp(testPicture(8, 8, 1), { raw: { width: 8, height: 8, channels: 3 } })
    .png()
    .toBuffer();
  assert.throws(
    () => readJpegCoefficients(png),
    (e: unknown) => e instanceof JpegError && e.reason === 'corrupt' && /not a JPEG/.test(e.problem),
  );
});
